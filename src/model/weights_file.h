// Model files. gpt2cl writes llm.c checkpoints: int32 header[256] (magic
// 20240326, version 3 = fp32 or 5 = bf16, maxT, V, L, NH, C, Vp), then the
// parameters in llm.c's order, fp32 or bf16. It reads those and Hugging Face
// GPT-2 models (model/hf_gpt2.h): a folder with config.json and
// model.safetensors (or a sharded model.safetensors.index.json), or a
// .safetensors file. Every reader below takes any of them.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "util/status.h"

// Reads only the shape of the model at path into config.
Status checkpoint_read_config(const char *path, GPT2Config *config);
// Checks an llm.c checkpoint's header against its file's size and fills c. Returns 1,
// or 0 with the reason in err, worded to follow "checkpoint 'PATH' ".
int checkpoint_header_parse(const int32_t h[256], long long file_size, GPT2Config *c, char *err, size_t n);
// Loads the parameters of a model file of m's shape; refuses non-finite values.
Status gpt2_load_checkpoint(GPT2 *m, const char *path);
// The model at path on the host: its shape and parameters in llm.c's layout
// (*host malloc'ed, gpt2_param_count floats); refuses non-finite values.
Status model_file_load(const char *path, GPT2Config *c, float **host);
// Writes an llm.c checkpoint (bf16: version 5, parameters rounded to nearest
// even; else version 3) atomically: temporary file + rename.
Status llmc_file_write(const char *path, const GPT2Config *c, const float *host, int bf16);
Status gpt2_save_checkpoint(GPT2 *m, const char *path);  // fp32, atomic
