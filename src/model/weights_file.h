// llm.c fp32 checkpoints: int32 header[256] (magic 20240326, version 3, maxT,
// V, L, NH, C, Vp), then the parameters in llm.c's order. Readable by init_from
// and by llm.c.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "util/status.h"

// Reads only the header of the checkpoint at path into config.
Status checkpoint_read_config(const char *path, GPT2Config *config);
// Checks a checkpoint's header against its file's size and fills c. Returns 1,
// or 0 with the reason in err, worded to follow "checkpoint 'PATH' ".
int checkpoint_header_parse(const int32_t h[256], long long file_size, GPT2Config *c, char *err, size_t n);
// Loads the parameters of a checkpoint of m's shape; refuses non-finite values.
Status gpt2_load_checkpoint(GPT2 *m, const char *path);
Status gpt2_save_checkpoint(GPT2 *m, const char *path);  // atomic: temporary file + rename
