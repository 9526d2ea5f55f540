#include "model/weights_file.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/hf_gpt2.h"
#include "util/half.h"
#include "util/util.h"

#define CHECKPOINT_MAGIC 20240326
#define CHECKPOINT_VERSION_FP32 3
#define CHECKPOINT_VERSION_BF16 5

static int param_bytes(int version) { return version == CHECKPOINT_VERSION_BF16 ? 2 : 4; }

int checkpoint_header_parse(const int32_t h[256], long long file_size, GPT2Config *c, char *err, size_t n) {
    if (h[0] != CHECKPOINT_MAGIC) {
        snprintf(err, n, "is not an llm.c checkpoint: magic %d, expected %d", h[0], CHECKPOINT_MAGIC);
        return 0;
    }
    if (h[1] != CHECKPOINT_VERSION_FP32 && h[1] != CHECKPOINT_VERSION_BF16) {
        snprintf(err, n, "has version %d; gpt2cl reads llm.c's fp32 (version %d) and bf16 (version %d) checkpoints",
                 h[1], CHECKPOINT_VERSION_FP32, CHECKPOINT_VERSION_BF16);
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
    double expected = 1024.0 + param_bytes(h[1]) * (double)gpt2_param_count(c);
    if ((double)file_size != expected) {
        snprintf(err, n,
                 "is %lld bytes but its header (version %d, n_layer=%d n_embd=%d padded_vocab=%d) implies %.0f bytes: "
                 "truncated or not an llm.c checkpoint",
                 file_size, h[1], c->num_layers, c->channels, c->padded_vocab_size, expected);
        return 0;
    }
    return 1;
}

// Opens an llm.c checkpoint and checks its header; f is left at the parameters, right after the header.
static Status open_checkpoint(const char *path, GPT2Config *c, int *version, FILE **f) {
    int32_t h[256];
    char err[300];
    TRY(open_with_header(path, "checkpoint", h, f));
    *version = h[1];
    if (checkpoint_header_parse(h, file_size(*f), c, err, sizeof err)) return STATUS_OK;
    fclose(*f);
    return fail(STATUS_INPUT, "checkpoint '%s' %s", path, err);
}

// The parameters after the header into host (count floats), converting bf16.
static Status read_llmc_parameters(FILE *f, const char *path, int version, float *host, size_t count) {
    if (version == CHECKPOINT_VERSION_FP32) return fread_exact(host, sizeof(float), count, f, path);
    enum { CHUNK = 1 << 16 };
    uint16_t *buf = mallocCheck(CHUNK * sizeof(uint16_t));
    Status s = STATUS_OK;
    for (size_t done = 0; done < count && !s; done += CHUNK) {
        size_t n = count - done < CHUNK ? count - done : CHUNK;
        s = fread_exact(buf, sizeof(uint16_t), n, f, path);
        for (size_t i = 0; i < n && !s; i++) host[done + i] = bf16_to_f32(buf[i]);
    }
    free(buf);
    return s;
}

static Status llmc_load(const char *path, GPT2Config *c, float **host) {
    FILE *f;
    int version;
    TRY(open_checkpoint(path, c, &version, &f));
    *host = mallocCheck(gpt2_param_count(c) * sizeof(float));
    Status s = read_llmc_parameters(f, path, version, *host, gpt2_param_count(c));
    fclose(f);
    return s;
}

static Status hf_load(const char *path, GPT2Config *c, float **host) {
    HfModel hm;
    TRY(hf_model_open(path, &hm));
    *c = hm.config;
    *host = mallocCheck(gpt2_param_count(c) * sizeof(float));
    Status s = hf_model_read(&hm, *host);
    hf_model_close(&hm);
    return s;
}

// 1 when path names a safetensors file: by its name, or by its start (a
// length, then '{') where it is no llm.c checkpoint.
static int looks_like_safetensors(const char *path) {
    size_t len = strlen(path);
    if (len >= 12 && !strcmp(path + len - 12, ".safetensors")) return 1;
    char why[64];
    FILE *f = open_regular_file(path, why, sizeof why);
    unsigned char b[9];
    int yes = f && fread(b, 1, 9, f) == 9 && b[8] == '{' && b[6] == 0 && b[7] == 0;
    if (f) fclose(f);
    return yes;
}

// Which reader a path needs: 1 Hugging Face, 0 llm.c (whose reader reports a missing or unknown file).
static Status is_hf_model(const char *path, int *hf) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (!hf_is_model_folder(path))
            return fail(STATUS_INPUT,
                        "'%s' is a folder that holds neither a run's checkpoints nor a Hugging Face model "
                        "(config.json + model.safetensors)",
                        path);
        *hf = 1;
        return STATUS_OK;
    }
    *hf = looks_like_safetensors(path);
    return STATUS_OK;
}

Status checkpoint_read_config(const char *path, GPT2Config *config) {
    int hf;
    TRY(is_hf_model(path, &hf));
    if (hf) {
        HfModel hm;
        TRY(hf_model_open(path, &hm));
        *config = hm.config;
        hf_model_close(&hm);
        return STATUS_OK;
    }
    FILE *f;
    int version;
    TRY(open_checkpoint(path, config, &version, &f));
    fclose(f);
    return STATUS_OK;
}

Status model_file_load(const char *path, GPT2Config *c, float **host) {
    int hf;
    TRY(is_hf_model(path, &hf));
    *host = NULL;
    Status s = hf ? hf_load(path, c, host) : llmc_load(path, c, host);
    for (size_t i = 0, n = s ? 0 : gpt2_param_count(c); i < n && !s; i++)
        if (!isfinite((*host)[i]))
            s = fail(STATUS_INPUT, "checkpoint '%s' holds a non-finite parameter (NaN or Inf) at index %zu", path, i);
    if (s) {
        free(*host);
        *host = NULL;
    }
    return s;
}

Status gpt2_load_checkpoint(GPT2 *m, const char *path) {
    GPT2Config c;
    TRY(checkpoint_read_config(path, &c));  // a wrong shape fails before the parameters are read
    const GPT2Config *mc = &m->config;
    if (c.max_seq_len != mc->max_seq_len || c.vocab_size != mc->vocab_size || c.num_layers != mc->num_layers ||
        c.num_heads != mc->num_heads || c.channels != mc->channels || c.padded_vocab_size != mc->padded_vocab_size)
        return fail(STATUS_INPUT,
                    "checkpoint '%s' has shape block_size=%d vocab=%d n_layer=%d n_head=%d n_embd=%d padded_vocab=%d, "
                    "the model has block_size=%d vocab=%d n_layer=%d n_head=%d n_embd=%d padded_vocab=%d",
                    path, c.max_seq_len, c.vocab_size, c.num_layers, c.num_heads, c.channels, c.padded_vocab_size,
                    mc->max_seq_len, mc->vocab_size, mc->num_layers, mc->num_heads, mc->channels,
                    mc->padded_vocab_size);
    float *host;
    TRY(model_file_load(path, &c, &host));
    gpt2_upload(m, m->params.parent, host);
    free(host);
    return STATUS_OK;
}

Status llmc_file_write(const char *path, const GPT2Config *c, const float *host, int bf16) {
    size_t count = gpt2_param_count(c), bytes = 1024 + count * (bf16 ? 2 : 4);
    unsigned char *buf = callocCheck(bytes, 1);
    int32_t h[256] = {CHECKPOINT_MAGIC, bf16 ? CHECKPOINT_VERSION_BF16 : CHECKPOINT_VERSION_FP32, c->max_seq_len,
                      c->vocab_size, c->num_layers, c->num_heads, c->channels, c->padded_vocab_size};
    memcpy(buf, h, sizeof h);
    if (!bf16) memcpy(buf + 1024, host, count * sizeof(float));
    for (size_t i = 0; bf16 && i < count; i++) {
        uint16_t v = f32_to_bf16(host[i]);
        memcpy(buf + 1024 + 2 * i, &v, sizeof v);
    }
    Status s = write_file_atomic(path, buf, bytes);
    free(buf);
    return s;
}

Status gpt2_save_checkpoint(GPT2 *m, const char *path) {
    float *host = mallocCheck(m->num_parameters * sizeof(float));
    gpt2_download(m, m->params.parent, host);
    Status s = device_status(m->dev);  // a failed read leaves garbage, never to be saved as weights
    if (!s) s = llmc_file_write(path, &m->config, host, 0);
    free(host);
    return s;
}
