// Checkpoints of a run in out_dir: model_STEP.bin (llm.c fp32 format, usable
// by init_from and by llm.c) and state_STEP.bin (everything else a bit-identical
// resume needs: optimizer state, step, data position, RNG). Both are written
// to a temporary file and renamed, model first, so a crash never leaves a
// half-written file under a real name and a state file always has its model.
#pragma once
#include <stdint.h>

#include "model/optimizer.h"
#include "train/dataloader.h"
#include "util/rng.h"
#include "util/status.h"

typedef struct {
    int step;
    DataPosition data;  // of the training loader
    int data_shuffle;   // the loader's mode: a position means nothing in the other
    Rng rng;
} RunPosition;

void checkpoint_paths(const char *dir, int step, char *model_path, char *state_path, size_t n);
// 1 for the names of a run's checkpoint files (model_NNNNNNNN.bin, state_NNNNNNNN.bin).
int checkpoint_file_name(const char *name);
// Every rank of a data-parallel run calls it (a sharded optimizer's state is
// assembled from all ranks); rank 0 writes.
Status checkpoint_save(const char *dir, GPT2 *m, const Optimizer *opt, const RunPosition *pos);
// Latest step in dir with both files present, or -1 if none.
int checkpoint_latest(const char *dir);
// The model a --checkpoint argument names: a run folder's latest model file, or
// the path itself (a file, or a folder that is not a run's: the weights loader
// decides what it is). Fails on a run folder without a complete checkpoint.
Status checkpoint_model_path(const char *checkpoint, char *path, size_t n);
// What a resume state must hold to continue this run.
typedef struct {
    int step;
    size_t num_parameters;
    const char *optimizer;
    int num_state;
    size_t num_rows;
} StateExpect;
// Checks a state's 1 KiB header against the run and the file's size. Returns 1,
// or 0 with the reason in err, worded to follow "resume state 'PATH' ".
int state_header_parse(const void *raw, long long file_size, const StateExpect *want, char *err, size_t n);
// Loads model and optimizer state of that step; fails on any mismatch, a wrong
// checksum or NaN state.
Status checkpoint_load(const char *dir, int step, GPT2 *m, Optimizer *opt, RunPosition *pos);
