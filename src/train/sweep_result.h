// What a sweep keeps of each run: the run's own record (RUN/result.json,
// written when it ends, so a finished or diverged run is never trained again)
// and the rows of the sweep's results.jsonl and results.csv built from the
// records and the runs' logs.
#pragma once
#include "train/run.h"
#include "train/sweep_grid.h"
#include "util/status.h"

// The figures of a run's log: last step, final and best validation loss (NaN if none), mean tokens/s.
typedef struct {
    int last_step, have_val;
    double final_val, best_val, tokens_per_s;
} LogSummary;

typedef struct {
    int have;              // a record exists
    RunOutcome outcome;
    int step;              // the last step trained (diverged: the step that diverged)
    double loss, wall_s;   // of that step; the run's wall time, start-up included
    char message[512];     // RUN_FAILED: why
    LogSummary log;        // of the run's log when it ended (read once, not at every rewrite of the results)
} RunRecord;

// Writes dir/result.json atomically.
Status run_record_write(const char *dir, const RunRecord *r);
// Reads dir/result.json; r->have = 0 when there is none (or it cannot be parsed).
void run_record_read(const char *dir, RunRecord *r);
// A finished or diverged run: the sweep skips it.
int run_record_done(const RunRecord *r);
const char *run_outcome_name(RunOutcome o);

void log_summarize(const char *path, LogSummary *s);
// The last step a log holds (0 if none): the progress of a running run, from the end of the file.
int log_last_step(const char *path);

// Writes OUT/results.jsonl and OUT/results.csv, one row per run of points[0..n) that has a record.
Status sweep_write_results(const char *out, const SweepGrid *g, const SweepPoint *points, int n);
