// `gpt2cl sweep`: one training run per point of a grid (train/sweep_grid.h),
// each in its own folder under the sweep's, in child processes (fork, then
// train_run), up to `jobs` at once. Resumable: a run that finished or diverged
// has a record (RUN/result.json) and is skipped, an interrupted one continues
// from its latest checkpoint, a grid with new values adds runs. The sweep folder
// is locked (train.lock) so two sweeps never share it.
#pragma once
#include <sys/types.h>

#include "train/sweep_grid.h"
#include "util/status.h"

// What the process of a run does after the fork: exit with sweep_child's status (the library never exits).
typedef void (*SweepChild)(const SweepPoint *p, const char *device, pid_t parent);

typedef struct {
    SweepChild child;
    const char *out;             // the sweep folder
    int jobs;                    // runs at once
    const char *const *devices;  // job slot k runs on devices[k % num_devices] (none: the config's device)
    int num_devices;
    int progress_tty;            // redraw the progress bar in place (stderr is a terminal)
} SweepOptions;

typedef struct {
    int runs, skipped, finished, diverged, failed;
    double wall_s;
} SweepSummary;

// Runs the sweep of g over base (each run's output in OUT/RUN/train.out; a line per finished run on stdout,
// the progress bar on stderr) and writes OUT/results.jsonl and OUT/results.csv.
// A failed run is counted in sum->failed and the sweep goes on; the Status reports the sweep's own failures.
Status sweep_run(const Config *base, const SweepGrid *g, const SweepOptions *o, SweepSummary *sum);

// In the child process of run p (device: NULL or its device), after the fork: ties the child's life to the
// sweep's (parent), trains the run (fresh, or resumed from its latest checkpoint), writes its record
// (RUN/result.json). Returns the process's exit status: 0 finished or diverged, 1 failed, 2 record not written
// (status_message() says why), 3 the sweep was gone.
int sweep_child(const SweepPoint *p, const char *device, pid_t parent);
