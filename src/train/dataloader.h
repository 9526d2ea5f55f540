// Reads llm.c token shards (int32 header[256]: magic 20240520, version 1,
// token count; then uint16 tokens) and serves (B,T) inputs and targets
// (targets are the inputs shifted by one token).
//  - sequential: each batch takes the next B*T+1 tokens of the current shard,
//    moving to the next shard when too few are left, wrapping after the last.
//  - shuffle: every epoch visits the shards in a seeded random order; each
//    shard is cut into windows of T+1 tokens at a seeded random offset (< T)
//    and a batch takes the next B windows of a seeded permutation of them.
// The position is three integers (DataPosition), so a resume state can hold it
// and continue exactly where the run stopped.
// With loss masks (dataloader_use_masks, task = sft) each shard's .mask file
// (text/sft_example.h) comes with it, and a target is kept only when the mask
// marks it and its example starts inside the same window (so its whole example
// is in the context); every other target is -1, which the loss skips.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "util/status.h"

typedef struct {
    uint64_t epoch;   // completed passes over all shards
    uint64_t shard;   // index into this epoch's shard order
    uint64_t cursor;  // sequential: token offset; shuffle: next window of the permutation
} DataPosition;

typedef struct {
    char **files;
    size_t *file_tokens;  // token count of each shard (from its header)
    int num_files;
    int B, T, vocab_size;
    int shuffle;
    uint64_t seed;
    DataPosition pos;
    // the current shard, and its window order in shuffle mode
    uint16_t *tokens;
    size_t num_tokens;
    int loaded_file;
    uint64_t loaded_epoch;
    uint32_t *windows;  // start offsets of the windows, permuted
    size_t num_windows;
    int *inputs, *targets;  // (B,T)
    int masked;             // dataloader_use_masks: targets outside the masks are -1
    unsigned char *mask;    // the current shard's mask bytes
    size_t num_targets;     // targets >= 0 in the last batch
} DataLoader;

// pattern: a file, a glob pattern or a folder (all *.bin inside). Every
// shard's header and size are checked here, so a bad or too short file fails
// before training starts; token ids (< vocab_size) are checked as each shard
// is loaded. what names the data in messages ("train_data"). On failure d holds nothing to free.
Status dataloader_init(DataLoader *d, const char *pattern, int B, int T, int vocab_size, int shuffle, uint64_t seed,
                       const char *what);
// Checks a token shard's header (256 int32) against its file's size and
// returns 1 with the token count, or 0 with the reason in err, worded to
// follow "token shard 'PATH' ".
int shard_header_parse(const int32_t h[256], long long file_size, size_t *tokens, char *err, size_t n);
// Reads the loss mask beside every shard from now on (checking each mask file's header against
// its shard); fails naming a shard without one or with a bad one.
Status dataloader_use_masks(DataLoader *d);
// An in-memory loader of uniformly random tokens (for benchmarks).
void dataloader_init_synthetic(DataLoader *d, int B, int T, int vocab_size, uint64_t seed);
void dataloader_free(DataLoader *d);
Status dataloader_reset(DataLoader *d);  // back to the first batch
// Continues from a saved position; fails if it does not fit these shards.
Status dataloader_seek(DataLoader *d, const DataPosition *pos);
// Fills inputs and targets; fails when a shard read on the way is bad (changed on disk, token ids too large).
Status dataloader_next(DataLoader *d);
size_t dataloader_total_tokens(const DataLoader *d);
