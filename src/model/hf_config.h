// A Hugging Face GPT-2's config.json: read into gpt2cl's shape (refusing the
// options of transformers' GPT2Config that gpt2cl's network does not compute),
// and written as transformers writes it for a GPT2LMHeadModel.
#pragma once
#include <stddef.h>

#include "model/model.h"
#include "util/status.h"

// The shape in config.json's text (path for messages); padded_vocab_size is
// left 0 for gpt2_config_check to fill.
Status hf_config_parse(const char *text, size_t len, const char *path, GPT2Config *c);
// Reads and parses the config.json at path.
Status hf_config_read(const char *path, GPT2Config *c);
// config.json of c (dtype: "float32", "bfloat16" or "float16": the tensors'),
// NUL-terminated and malloc'ed.
char *hf_config_json(const GPT2Config *c, const char *dtype);
