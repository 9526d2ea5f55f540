#include "model/weights_file.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/util.h"

#define CHECKPOINT_MAGIC 20240326
#define CHECKPOINT_VERSION_FP32 3

int checkpoint_header_parse(const int32_t h[256], long long file_size, GPT2Config *c, char *err, size_t n) {
    if (h[0] != CHECKPOINT_MAGIC) {
        snprintf(err, n, "is not an llm.c checkpoint: magic %d, expected %d", h[0], CHECKPOINT_MAGIC);
        return 0;
    }
    if (h[1] != CHECKPOINT_VERSION_FP32) {
        snprintf(err, n, "has version %d; gpt2cl reads fp32 checkpoints (version %d)%s", h[1], CHECKPOINT_VERSION_FP32,
                 h[1] == 5 ? " (version 5 is llm.c's bf16 format)" : "");
        return 0;
    }
    *c = (GPT2Config){.max_seq_len = h[2], .vocab_size = h[3], .num_layers = h[4], .num_heads = h[5],
                      .channels = h[6], .padded_vocab_size = h[7]};
    if (c->padded_vocab_size <= 0 || c->num_layers <= 0 || c->num_heads <= 0 || c->channels <= 0 ||
        c->max_seq_len <= 0 || c->vocab_size <= 0 || c->vocab_size > c->padded_vocab_size ||
        c->channels % c->num_heads != 0 || c->channels > 1 << 16 || c->num_layers > 1 << 12 ||
        c->max_seq_len > 1 << 20 || c->padded_vocab_size > 1 << 24) {
        snprintf(err, n, "has an invalid header: block_size=%d vocab=%d n_layer=%d n_head=%d n_embd=%d padded_vocab=%d",
                 c->max_seq_len, c->vocab_size, c->num_layers, c->num_heads, c->channels, c->padded_vocab_size);
        return 0;
    }
    double expected = 1024.0 + 4.0 * (double)gpt2_param_count(c);
    if ((double)file_size != expected) {
        snprintf(err, n,
                 "is %lld bytes but its header (n_layer=%d n_embd=%d padded_vocab=%d) implies %.0f bytes: "
                 "truncated or not an fp32 llm.c checkpoint",
                 file_size, c->num_layers, c->channels, c->padded_vocab_size, expected);
        return 0;
    }
    return 1;
}

// Opens a checkpoint and checks its header; f is left at the parameters, right after the header.
static Status open_checkpoint(const char *path, GPT2Config *c, FILE **f) {
    int32_t h[256];
    char err[300];
    TRY(open_with_header(path, "checkpoint", h, f));
    if (checkpoint_header_parse(h, file_size(*f), c, err, sizeof err)) return STATUS_OK;
    fclose(*f);
    return fail(STATUS_INPUT, "checkpoint '%s' %s", path, err);
}

Status checkpoint_read_config(const char *path, GPT2Config *config) {
    FILE *f;
    TRY(open_checkpoint(path, config, &f));
    fclose(f);
    return STATUS_OK;
}

// The parameters that follow the header, all finite, into host (num_parameters floats).
static Status read_parameters(FILE *f, const char *path, float *host, size_t count) {
    TRY(fread_exact(host, sizeof(float), count, f, path));
    for (size_t i = 0; i < count; i++)
        if (!isfinite(host[i]))
            return fail(STATUS_INPUT, "checkpoint '%s' holds a non-finite parameter (NaN or Inf) at index %zu", path,
                        i);
    return STATUS_OK;
}

Status gpt2_load_checkpoint(GPT2 *m, const char *path) {
    GPT2Config c;
    FILE *f;
    TRY(open_checkpoint(path, &c, &f));
    const GPT2Config *mc = &m->config;
    if (c.max_seq_len != mc->max_seq_len || c.vocab_size != mc->vocab_size || c.num_layers != mc->num_layers ||
        c.num_heads != mc->num_heads || c.channels != mc->channels || c.padded_vocab_size != mc->padded_vocab_size) {
        fclose(f);
        return fail(STATUS_INPUT,
                    "checkpoint '%s' has shape block_size=%d vocab=%d n_layer=%d n_head=%d n_embd=%d padded_vocab=%d, "
                    "the model has block_size=%d vocab=%d n_layer=%d n_head=%d n_embd=%d padded_vocab=%d",
                    path, c.max_seq_len, c.vocab_size, c.num_layers, c.num_heads, c.channels, c.padded_vocab_size,
                    mc->max_seq_len, mc->vocab_size, mc->num_layers, mc->num_heads, mc->channels,
                    mc->padded_vocab_size);
    }
    float *host = mallocCheck(m->num_parameters * sizeof(float));
    Status s = read_parameters(f, path, host, m->num_parameters);
    fclose(f);
    if (!s) gpt2_upload(m, m->params.parent, host);
    free(host);
    return s;
}

Status gpt2_save_checkpoint(GPT2 *m, const char *path) {
    size_t bytes = 1024 + m->num_parameters * sizeof(float);
    char *buf = callocCheck(bytes, 1);
    int32_t *h = (int32_t *)buf;
    const GPT2Config *c = &m->config;
    h[0] = CHECKPOINT_MAGIC;
    h[1] = CHECKPOINT_VERSION_FP32;
    h[2] = c->max_seq_len;
    h[3] = c->vocab_size;
    h[4] = c->num_layers;
    h[5] = c->num_heads;
    h[6] = c->channels;
    h[7] = c->padded_vocab_size;
    gpt2_download(m, m->params.parent, (float *)(buf + 1024));
    Status s = device_status(m->dev);  // a failed read leaves zeros, never to be saved as weights
    if (!s) s = write_file_atomic(path, buf, bytes);
    free(buf);
    return s;
}
