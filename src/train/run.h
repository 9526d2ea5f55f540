// One training run of a Config, as `gpt2cl train` runs it: the loop returns
// what happened instead of exiting, so a learning-rate sweep or a multi-rank
// run can act on a diverged or failed run and go on.
#pragma once
#include "train/config.h"
#include "util/status.h"

typedef struct {
    int profiling;           // time every device operation; the profile is printed at the end
    const char *resume_dir;  // continue the run in this folder (claimed by run_folder_claim), or NULL
    int resume_step;         // the latest checkpoint in resume_dir
} RunOptions;

typedef enum {
    RUN_FINISHED,  // every step trained
    RUN_DIVERGED,  // a loss or gradient norm was not finite, or the loss above diverge_loss: a valid result of a sweep
    RUN_FAILED,    // a file, the data or the device failed: status and status_message() say why
} RunOutcome;

typedef struct {
    RunOutcome outcome;
    Status status;           // RUN_FAILED: the failure
    int step;                // the last step trained (RUN_DIVERGED: the step that diverged)
    float loss, grad_norm;   // of that step
    float val_loss;          // the last validation loss, NaN if none
    int diverged_in_validation;  // RUN_DIVERGED: val_loss is the value that was not finite
} RunResult;

// Takes a run folder for this process: its lock (util: train.lock), then the
// temporaries that killed runs left there.
Status run_folder_claim(const char *dir);
// Trains cfg (validated) from step 1, or from opts->resume_step of
// opts->resume_dir, to cfg->steps; prints progress on stdout, writes the log
// and the checkpoints. A fresh run first claims cfg->out_dir and refuses one
// holding another run.
RunResult train_run(const Config *cfg, const RunOptions *opts);
