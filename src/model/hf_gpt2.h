// Hugging Face GPT-2 weights (transformers' GPT2LMHeadModel in safetensors
// files) to and from gpt2cl's llm.c layout. Names may carry the "transformer."
// prefix or not; Conv1D weights are stored (in, out) and transposed to
// gpt2cl's (out, in); wte has V rows there and Vp here (padded with zeros);
// the attn.bias / attn.masked_bias buffers are ignored and lm_head.weight, if
// present, must equal wte (gpt2cl's output layer is tied to it).
#pragma once
#include <stddef.h>

#include "model/model.h"
#include "model/safetensors.h"
#include "util/status.h"

typedef struct {
    char *path;  // as given, for messages
    SafeTensors *shards;
    int num_shards;
    GPT2Config config;  // padded_vocab_size filled
} HfModel;

// 1 when path is a folder holding config.json and model.safetensors (or model.safetensors.index.json).
int hf_is_model_folder(const char *path);
// Opens a Hugging Face GPT-2: a folder (config.json + model.safetensors, or the
// shards of model.safetensors.index.json), or one .safetensors file, shaped by
// the config.json beside it or else by its tensors (n_head = n_embd / 64, the
// head size of all of OpenAI's GPT-2 models). Checks the config and that every
// tensor is GPT-2's with the right shape and dtype.
Status hf_model_open(const char *path, HfModel *hm);
void hf_model_close(HfModel *hm);
// The parameters in llm.c's layout (gpt2_param_count floats, padded wte rows zero).
Status hf_model_read(const HfModel *hm, float *host);

// Fails on a tensor that is neither one of GPT-2's (for hm->config's n_layer) nor an ignored buffer.
Status hf_check_names(const HfModel *hm);
// The shape from the tensors (no config.json): V and n_embd from wte, n_positions from wpe, n_layer from the
// ln_1 weights, n_head = n_embd / 64.
Status hf_infer_config(const HfModel *hm, GPT2Config *c);

// model.safetensors of the parameters in host (llm.c layout), with the names,
// shapes and layout transformers' save_pretrained writes; dtype "F32", "BF16"
// or "F16" (rounded to nearest even). *out is malloc'ed.
void hf_model_serialize(const GPT2Config *c, const float *host, const char *dtype, unsigned char **out,
                        size_t *size);
