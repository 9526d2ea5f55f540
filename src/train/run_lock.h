// One `gpt2cl train` per run folder: an exclusive flock on DIR/train.lock,
// held until the process exits, so two runs (or a run and a --resume) can
// never leave the model of one beside the resume state of the other.
#pragma once
#include "util/status.h"

// Takes the lock on dir (a folder that exists) or fails naming the process
// that holds it. The lock file itself stays empty and is never rewritten.
Status run_folder_lock(const char *dir);
