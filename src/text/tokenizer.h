// Layer text (src/text/): text to tokens and back: this tokenizer, its BPE tables and `gpt2cl
// prepare`'s shard writer. It uses util only.
//
// Byte-level BPE tokenizer, exact to OpenAI's GPT-2 encoding (tiktoken "gpt2",
// special tokens ignored in the input text), plus a 257-symbol byte tokenizer.
//
// Invalid UTF-8: every byte is still encoded, so decode(encode(x)) == x for
// any input. The pre-tokenization regex runs on each maximal valid UTF-8
// stretch as if it were its own string (PCRE2_MATCH_INVALID_UTF makes invalid
// bytes barriers that no match crosses) and each maximal run of invalid bytes
// is one pre-token, BPE-merged on its raw bytes. tiktoken has no byte-exact
// equivalent: its str API replaces lone surrogates by U+FFFD, and the private
// _encode_bytes merges everything after the first invalid byte as one piece.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "util/status.h"

typedef struct Tokenizer Tokenizer;

// Growable array of token ids; zero-initialise before first use.
typedef struct {
    int32_t *ids;
    size_t len, cap;
} TokenIds;

void token_ids_push(TokenIds *t, int32_t id);
void token_ids_reserve(TokenIds *t, size_t n); // room for n more ids
void token_ids_free(TokenIds *t);

// gpt2cl_data_dir (util.h) is where the "gpt2" ranks file lives.

// spec: "gpt2" (gpt2.tiktoken in the data folder), "byte" (256 byte tokens +
// end-of-text), a path to a .tiktoken ranks file ("base64-token rank" lines),
// or a path to an encoder.json with its vocab.bpe in the same folder.
// Fails with a one-line message on any error (missing or malformed files).
Status tokenizer_load(const char *spec, Tokenizer **t);
// A tokenizer from the text of a .tiktoken ranks file (name for messages), or
// NULL with the reason in err: never dies on malformed text.
Tokenizer *tokenizer_from_tiktoken_text(const char *text, size_t len, const char *name, char *err, size_t n);
void tokenizer_free(Tokenizer *t);
// The tokenizer of a model with this vocabulary: spec if given (it must fit
// the vocabulary), else byte for 257 and gpt2 for 50257; fails otherwise.
Status tokenizer_load_for_model(const char *spec, int vocab_size, Tokenizer **t);

int tokenizer_vocab_size(const Tokenizer *t); // 50257 for gpt2, 257 for byte
int tokenizer_eot(const Tokenizer *t);        // 50256 for gpt2, 256 for byte
const char *tokenizer_name(const Tokenizer *t); // "gpt2", "byte" or the path

// Appends the ids of bytes[0..len) to out. Text like "<|endoftext|>" in the
// input is ordinary text (tiktoken's encode_ordinary). *invalid (when not
// NULL): the number of input bytes that were not valid UTF-8 (they are still
// encoded exactly). Fails where the pre-tokenization regex gives up on the text.
// Not thread-safe: a Tokenizer caches pre-token encodings and owns the regex
// match state; use one Tokenizer per thread.
Status tokenizer_encode(Tokenizer *t, const void *bytes, size_t len, TokenIds *out, size_t *invalid);

// Bytes of one token (not NUL-terminated; a token may be a partial UTF-8
// character, so stream decoded bytes rather than printing tokens one by one).
// The end-of-text id decodes to "<|endoftext|>". Returns NULL for ids out of
// range.
const unsigned char *tokenizer_decode(const Tokenizer *t, int id, size_t *len);

// An offset >= min (or len) at which text can be cut into two encode calls
// without changing the ids: a '\n' right after an ASCII non-space byte, where
// the GPT-2 regex always starts a new pre-token. Lets callers encode huge
// documents in chunks.
size_t tokenizer_split_point(const unsigned char *s, size_t len, size_t min);

// Offset of the first byte that is not part of valid UTF-8, or len if none.
size_t utf8_first_invalid(const unsigned char *s, size_t len);
