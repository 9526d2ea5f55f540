// A tokenizer as Hugging Face's GPT-2 tokenizer files: vocab.json (token
// strings in GPT-2's byte-to-unicode alphabet -> ids, <|endoftext|> included),
// merges.txt (the merges in priority order) and tokenizer_config.json, which
// GPT2Tokenizer(Fast).from_pretrained reads.
#pragma once
#include "text/tokenizer.h"
#include "util/status.h"

// The three files' texts (NUL-terminated, malloc'ed). The merges are derived
// from the ranks: token r is the merge of the two pieces that byte-pair
// encoding with the ranks below r leaves of its bytes, which reproduces GPT-2's
// own merges list. Fails where a token is not such a merge.
Status tokenizer_hf_files(const Tokenizer *t, int model_max_length, char **vocab_json, char **merges_txt,
                          char **config_json);
