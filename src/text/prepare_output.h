// Where `gpt2cl prepare` writes: all or nothing. Shards go to a hidden staging
// folder beside the target (".NAME.tmp.PID") and replace the target's shards
// only once every input was tokenized; a failure (or a kill) leaves the old
// shards untouched and no new ones in the target.
#pragma once
#include "util/status.h"

typedef struct {
    char *target;     // the --out folder
    char *stage;      // the staging folder beside it
    int target_exists;
    int inside;       // the stage is inside the target (a mount point): shards are moved in one by one
    char foreign[256];  // the first entry of target that is not a shard ("" if none)
} PrepareOutput;

// Checks the target (a folder or nothing; existing shards only with force),
// removes stale staging folders of dead processes and creates the stage.
// Until prepare_output_commit, the stage is removed by prepare_output_free or
// when the process exits. On failure, o is still freed with prepare_output_free.
Status prepare_output_open(PrepareOutput *o, const char *target, int force);
// Puts the staged shards in place of the target's: by swapping the folders in
// one step (renameat2 RENAME_EXCHANGE; else two renames, never a mix), or,
// when the target holds other files than shards or is a mount point (the
// stage then being inside it), by moving each shard in.
Status prepare_output_commit(PrepareOutput *o);
// Frees o; removes the stage if it was not committed.
void prepare_output_free(PrepareOutput *o);
