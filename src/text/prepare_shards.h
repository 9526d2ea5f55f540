// Token shards in llm.c's format and the deterministic train/val split used
// by `gpt2cl prepare`.
//
// Shard file: a 256 x int32 little-endian header ([0] = 20240520 magic,
// [1] = 1 version, [2] = token count, rest 0) followed by the tokens as
// little-endian uint16. Files are PREFIX_NNNNNN.bin (NNNNNN from 000000),
// each written atomically (temporary file + rename).
//
// Split: the whole token stream (end-of-text before each document) is cut into
// blocks of split_block tokens; block b goes to validation when
// ceil((b+1)*f) > ceil(b*f) for f = val fraction (in millionths, integer math),
// i.e. block 0 and then every (1/f)-th block. So the split depends only on the
// inputs, their order and the flags, and val samples the whole corpus evenly.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "util/status.h"

#define SHARD_MAGIC 20240520
#define SHARD_VERSION 1
#define SHARD_HEADER_INTS 256

typedef struct {
    char *dir;
    const char *prefix;       // "train" or "val"
    size_t max_tokens;        // tokens per shard
    unsigned char *buf;       // header + tokens of the shard being filled
    size_t n, cap;            // tokens in buf, tokens buf can hold
    int shards;               // shards written so far
    uint64_t total;           // tokens written or buffered
    // SFT shards (text/sft_example.h): a mask byte per token, written to PREFIX_NNNNNN.mask
    int masked;
    int32_t eot;              // the end-of-text id that closes an example
    unsigned char *mask;      // mask bytes of the tokens in buf
    int open_completion;      // the last example ended on a target: the next <|endoftext|> is one too
    uint64_t targets;         // tokens with MASK_TARGET written or buffered
} ShardWriter;

void shard_writer_init(ShardWriter *w, const char *dir, const char *prefix, size_t max_tokens);
// Buffers ids, writing each shard as it fills; fails on an id above 65535 or a failed write.
Status shard_writer_add(ShardWriter *w, const int32_t *ids, size_t n);
// Makes w write a mask file beside each shard (call before adding); eot closes each example.
void shard_writer_use_masks(ShardWriter *w, int32_t eot);
// Buffers one SFT example (ids and mask bytes, its first token an <|endoftext|> with MASK_START).
Status shard_writer_add_example(ShardWriter *w, const int32_t *ids, const unsigned char *mask, size_t n);
// Writes the last partial shard (with a masked writer, after the <|endoftext|> that closes the
// last example) and frees the buffer.
Status shard_writer_finish(ShardWriter *w);
void shard_writer_free(ShardWriter *w);  // frees the buffer without writing it
// Path of shard i (caller frees).
char *shard_path(const char *dir, const char *prefix, int i);

typedef struct {
    uint64_t pos;             // tokens routed so far
    uint64_t block;           // tokens per block
    uint32_t val_ppm;         // validation fraction in millionths
} Splitter;

int split_block_is_val(uint64_t block_index, uint32_t val_ppm);
// Routes ids (a continuation of the token stream) to train or val.
Status split_add(Splitter *s, const int32_t *ids, size_t n, ShardWriter *train, ShardWriter *val);
// Routes a whole SFT example to the split of the block of its first token.
Status split_add_example(Splitter *s, const int32_t *ids, const unsigned char *mask, size_t n, ShardWriter *train,
                         ShardWriter *val);

// 1 if name is a shard file name (train_NNNNNN.bin or val_NNNNNN.bin) or a shard's mask file (.mask).
int is_shard_name(const char *name);
