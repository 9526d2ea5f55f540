// Reads llm.c token shards (int32 header[256]: magic 20240520, version 1,
// token count; then uint16 tokens) and serves (B,T) inputs and targets.
// Sequential: each batch takes the next B*T+1 tokens of the current shard
// (targets are inputs shifted by one), moving to the next shard when the
// current one has too few left and wrapping around after the last.
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char **files;
    int num_files;
    int B, T, vocab_size;
    // position: shard index and token offset within it
    int shard;
    size_t pos;
    uint16_t *tokens;  // the current shard
    size_t num_tokens;
    int loaded_shard;
    int *inputs, *targets;  // (B,T)
} DataLoader;

// pattern: a file, a glob pattern or a folder (all *.bin inside). Every shard
// is checked (header, size, token ids < vocab_size) when it is first loaded;
// the first shard is loaded here so a bad file fails before training starts.
void dataloader_init(DataLoader *d, const char *pattern, int B, int T, int vocab_size, const char *what);
// An in-memory loader of uniformly random tokens (for benchmarks).
void dataloader_init_synthetic(DataLoader *d, int B, int T, int vocab_size, uint64_t seed);
void dataloader_free(DataLoader *d);
void dataloader_reset(DataLoader *d);
void dataloader_next(DataLoader *d);  // fills inputs and targets
// Total tokens over all shards (reads headers only).
size_t dataloader_total_tokens(const DataLoader *d);
