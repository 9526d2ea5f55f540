// Internals shared by the tokenizer's files; not part of the public API.
#pragma once
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "text/bpe_map.h"
#include "text/tokenizer.h"

struct Tokenizer {
    char *name;
    int is_byte;        // byte tokenizer: id = byte value, no merges
    int n_ranks;        // mergeable tokens, ranks 0..n_ranks-1 (= their ids)
    int eot;
    int vocab_size;
    BpeMap ranks;       // token bytes -> rank
    uint32_t byte_rank[256];
    // Decode table indexed by id (vocab_size entries, end-of-text included).
    uint32_t *tok_off, *tok_len;
    unsigned char *tok_bytes;
    // Pre-tokenization.
    pcre2_code *re;
    pcre2_match_data *md;
    pcre2_jit_stack *jit_stack;
    pcre2_match_context *mctx;
    // Cache: pre-token bytes -> offset into cache_ids (count, then the ids).
    BpeMap cache;
    int32_t *cache_ids;
    size_t cache_ids_len, cache_ids_cap;
    // Scratch for the merge loop.
    size_t scratch_cap;
    uint32_t *s_start, *s_rank, *s_next, *s_prev;
    uint64_t *s_heap;
};

// Fills n_ranks, ranks and byte_rank from a .tiktoken file or an encoder.json
// (+ vocab.bpe beside it); sets eot. Fails on malformed input (t->ranks may
// then hold entries: tokenizer_free frees them).
Status bpe_load_tiktoken(Tokenizer *t, const char *path);
// The same from the text of a .tiktoken file (name for messages): returns 1, or 0
// with the reason in err (and nothing left allocated).
int bpe_parse_tiktoken(Tokenizer *t, const char *text, size_t len, const char *name, char *err, size_t errn);
Status bpe_load_encoder_json(Tokenizer *t, const char *path);
// GPT-2's bytes_to_unicode(): the code point that stands for byte b in
// encoder.json / vocab.json and vocab.bpe / merges.txt. Printable Latin-1 bytes
// stand for themselves, the other 68 map to U+0100.. in byte order.
uint32_t bpe_byte_code_point(int b);

// Byte-pair merge of one pre-token (len >= 2) whose bytes are not a token
// themselves; appends the resulting ids. Fails on a pre-token of 4 GiB or more.
Status bpe_merge(Tokenizer *t, const unsigned char *piece, size_t len, TokenIds *out);
