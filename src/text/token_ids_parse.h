// Token ids written as text, as `gpt2cl decode` reads them: a JSON array of
// integers, or integers separated by spaces, commas or newlines.
#pragma once
#include <stddef.h>

#include "text/tokenizer.h"
#include "util/status.h"

// Appends the ids in text[0..len) to out; every id must be in [0, vocab_size).
// Empty text (or only separators, or "[]") is no ids. Fails with a one-line
// message naming the first bad id and its place.
Status token_ids_parse(const char *text, size_t len, int vocab_size, TokenIds *out);
