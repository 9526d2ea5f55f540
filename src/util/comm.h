// The ranks of one run: the processes `mpirun -np N gpt2cl train` starts,
// each on its own device, or one rank when gpt2cl was built without MPI or
// runs without mpirun. Collectives are blocking and host-side (OpenCL has no
// device-to-device collectives); every rank must call them in the same order.
#pragma once
#include <stddef.h>
#include <stdnoreturn.h>

#include "util/status.h"

// Starts MPI when gpt2cl was built with it and mpirun started this process (a
// no-op otherwise: a plain run stays one process without MPI). A build without
// MPI started by mpirun with several ranks fails: its ranks would each train alone.
Status comm_init(int *argc, char ***argv);
void comm_finalize(void);
int comm_rank(void);        // 0 .. comm_size()-1
int comm_size(void);        // 1 without MPI
int comm_local_rank(void);  // rank among the ranks of this node: picks the node's device
// In-place sums over all ranks.
Status comm_sum_floats(float *buf, size_t n);
Status comm_sum_doubles(double *buf, size_t n);
// Every rank's part buf[first[r] .. end[r]) to every rank (in place; the parts do not overlap).
Status comm_allgather_floats(float *buf, const size_t *first, const size_t *end);
// Stops every rank at once (after this rank's error message): never a hang in a collective.
noreturn void comm_abort(int code);
// "MPI (Open MPI ...)" or "no MPI": what this binary was built with.
const char *comm_backend(void);
