// One rank: gpt2cl built without MPI.
#include <stdlib.h>

#include "util/comm.h"

Status comm_init(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    // Open MPI and MPICH tell each process the job's size.
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && atoi(v) > 1)
            return fail(STATUS_INPUT,
                        "started by mpirun with %s ranks, but this gpt2cl was built without MPI (install "
                        "libopenmpi-dev and rebuild: meson setup --reconfigure build -Dmpi=enabled)",
                        v);
    }
    return STATUS_OK;
}

void comm_finalize(void) {}
int comm_rank(void) { return 0; }
int comm_size(void) { return 1; }
int comm_local_rank(void) { return 0; }
Status comm_sum_floats(float *buf, size_t n) {
    (void)buf;
    (void)n;
    return STATUS_OK;
}
Status comm_sum_doubles(double *buf, size_t n) {
    (void)buf;
    (void)n;
    return STATUS_OK;
}
Status comm_allgather_floats(float *buf, const size_t *first, const size_t *end) {
    (void)buf;
    (void)first;
    (void)end;
    return STATUS_OK;
}
noreturn void comm_abort(int code) { exit(code); }
const char *comm_backend(void) { return "no MPI"; }
