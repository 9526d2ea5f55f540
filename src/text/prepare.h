// Tokenizes text files, folders of them or JSONL into llm.c-format uint16
// token shards (train_NNNNNN.bin / val_NNNNNN.bin): `gpt2cl prepare`.
#pragma once
#include <stdint.h>

#include "util/status.h"

typedef struct {
    const char *tokenizer;  // a tokenizer spec (text/tokenizer.h)
    const char *out;        // the output folder; NULL: DATA/tokens/<tokenizer's name>
    double val_frac;        // fraction of tokens for validation, 0 <= F < 1
    uint64_t split_block;   // split granularity in tokens
    uint64_t shard_tokens;  // most tokens per shard file
    int force;              // replace shards already in out (else refuse)
    int sft;                // --format sft: JSONL examples with loss masks (text/sft_example.h)
    int context;            // sft: the context a scored token must fit in (tokens from the example's start)
    const char **inputs;    // files, folders or .jsonl files; none: DATA/corpus
    int n_inputs;
} PrepareOptions;

// Writes the shards of o's inputs to o->out, all or nothing, and prints a
// summary line (progress on a terminal's stderr).
Status prepare_run(const PrepareOptions *o);
