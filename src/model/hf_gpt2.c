#include "model/hf_gpt2.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "util/half.h"
#include "util/util.h"

// transformers' name of each gpt2cl tensor ("%d": the layer), after the "transformer." prefix, and whether
// it is a Conv1D weight, stored (in, out).
static const struct {
    const char *name;
    int transposed;
} hf_names[NUM_PARAM_TENSORS] = {
    [P_WTE] = {"wte.weight", 0},
    [P_WPE] = {"wpe.weight", 0},
    [P_LN1W] = {"h.%d.ln_1.weight", 0},
    [P_LN1B] = {"h.%d.ln_1.bias", 0},
    [P_QKVW] = {"h.%d.attn.c_attn.weight", 1},
    [P_QKVB] = {"h.%d.attn.c_attn.bias", 0},
    [P_ATTPROJW] = {"h.%d.attn.c_proj.weight", 1},
    [P_ATTPROJB] = {"h.%d.attn.c_proj.bias", 0},
    [P_LN2W] = {"h.%d.ln_2.weight", 0},
    [P_LN2B] = {"h.%d.ln_2.bias", 0},
    [P_FCW] = {"h.%d.mlp.c_fc.weight", 1},
    [P_FCB] = {"h.%d.mlp.c_fc.bias", 0},
    [P_FCPROJW] = {"h.%d.mlp.c_proj.weight", 1},
    [P_FCPROJB] = {"h.%d.mlp.c_proj.bias", 0},
    [P_LNFW] = {"ln_f.weight", 0},
    [P_LNFB] = {"ln_f.bias", 0},
};
// Buffers of transformers' attention that are not parameters.
static const char *const hf_ignored[] = {"h.%d.attn.bias", "h.%d.attn.masked_bias"};
#define PREFIX "transformer."
#define LM_HEAD "lm_head.weight"

// The name of tensor i's slice l, without the prefix.
static void hf_name(int i, int l, char *out, size_t n) { snprintf(out, n, hf_names[i].name, l); }

// transformers' shape of one slice of tensor i (ndim 1 or 2).
static int hf_shape(const GPT2Config *c, const TensorShape *ts, int i, int64_t shape[2]) {
    size_t rows = i == P_WTE ? (size_t)c->vocab_size : ts->rows;
    if (ts->cols == 1) {
        shape[0] = (int64_t)rows;
        return 1;
    }
    shape[0] = (int64_t)(hf_names[i].transposed ? ts->cols : rows);
    shape[1] = (int64_t)(hf_names[i].transposed ? rows : ts->cols);
    return 2;
}

// dst (cols, rows) = src (rows, cols) transposed, in tiles so that both sides stay in cache.
static void transpose(const float *src, size_t rows, size_t cols, float *dst) {
    enum { TILE = 32 };
    for (size_t r0 = 0; r0 < rows; r0 += TILE)
        for (size_t k0 = 0; k0 < cols; k0 += TILE)
            for (size_t r = r0; r < rows && r < r0 + TILE; r++)
                for (size_t k = k0; k < cols && k < k0 + TILE; k++) dst[k * rows + r] = src[r * cols + k];
}

// A tensor by its name without the prefix, in any shard, with or without the prefix.
static const SafeTensor *find(const HfModel *hm, const char *name) {
    char full[256];
    snprintf(full, sizeof full, PREFIX "%s", name);
    for (int s = 0; s < hm->num_shards; s++) {
        const SafeTensor *t = safetensors_find(&hm->shards[s], full);
        if (!t) t = safetensors_find(&hm->shards[s], name);
        if (t) return t;
    }
    return NULL;
}

// Tensor t holds shape want (ndim 1 or 2) in a dtype gpt2cl converts.
static Status check_tensor(const HfModel *hm, const SafeTensor *t, const char *name, const int64_t *want, int nd) {
    if (!t) return fail(STATUS_INPUT, "Hugging Face model '%s' lacks tensor '%s'", hm->path, name);
    if (t->type == ST_OTHER)
        return fail(STATUS_INPUT, "Hugging Face model '%s': tensor '%s' has dtype %s; gpt2cl reads F32, F16 and BF16",
                    hm->path, t->name, t->dtype);
    if (t->ndim != nd || t->shape[0] != want[0] || (nd == 2 && t->shape[1] != want[1]))
        return fail(STATUS_INPUT,
                    "Hugging Face model '%s': tensor '%s' has shape [%lld%s%lld], the config (n_layer=%d n_head=%d "
                    "n_embd=%d n_positions=%d vocab_size=%d) needs [%lld%s%lld]",
                    hm->path, t->name, (long long)(t->ndim ? t->shape[0] : 0), t->ndim > 1 ? ", " : "",
                    (long long)(t->ndim > 1 ? t->shape[1] : 0), hm->config.num_layers, hm->config.num_heads,
                    hm->config.channels, hm->config.max_seq_len, hm->config.vocab_size, (long long)want[0],
                    nd == 2 ? ", " : "", (long long)(nd == 2 ? want[1] : 0));
    return STATUS_OK;
}

// One slice of tensor i into dst (its place in the llm.c layout), transposed where transformers stores (in, out).
static Status read_slice(const HfModel *hm, const TensorShape *ts, int i, int l, float *dst, float *tmp) {
    char name[128];
    hf_name(i, l, name, sizeof name);
    int64_t want[2];
    int nd = hf_shape(&hm->config, ts, i, want);
    const SafeTensor *t = find(hm, name);
    TRY(check_tensor(hm, t, name, want, nd));
    safetensor_to_f32(t, hf_names[i].transposed ? tmp : dst);
    if (hf_names[i].transposed) transpose(tmp, ts->cols, ts->rows, dst);  // (cols, rows) -> (rows, cols)
    return STATUS_OK;
}

// lm_head.weight, when present, must be wte itself (first V rows of host's wte).
static Status check_lm_head(const HfModel *hm, const float *wte) {
    const SafeTensor *t = find(hm, LM_HEAD);
    if (!t) return STATUS_OK;
    int64_t want[2] = {hm->config.vocab_size, hm->config.channels};
    TRY(check_tensor(hm, t, LM_HEAD, want, 2));
    float *head = mallocCheck(t->count * sizeof(float));
    safetensor_to_f32(t, head);
    int same = memcmp(head, wte, t->count * sizeof(float)) == 0;
    free(head);
    if (same) return STATUS_OK;
    return fail(STATUS_INPUT,
                "Hugging Face model '%s': lm_head.weight differs from wte.weight; gpt2cl's output layer is the token "
                "embedding (tied), so an untied model cannot be imported",
                hm->path);
}

Status hf_model_read(const HfModel *hm, float *host) {
    TensorShape ts[NUM_PARAM_TENSORS];
    gpt2_tensor_shapes(&hm->config, ts);
    const GPT2Config *c = &hm->config;  // the padded wte rows: zero; every other value is read below
    memset(host + (size_t)c->vocab_size * c->channels, 0,
           (size_t)(c->padded_vocab_size - c->vocab_size) * c->channels * sizeof(float));
    size_t largest = 1;  // of the transposed slices, converted first into tmp
    for (int i = 0; i < NUM_PARAM_TENSORS; i++)
        if (hf_names[i].transposed && ts[i].rows * ts[i].cols > largest) largest = ts[i].rows * ts[i].cols;
    float *tmp = mallocCheck(largest * sizeof(float));
    Status s = STATUS_OK;
    for (int i = 0; i < NUM_PARAM_TENSORS && !s; i++)
        for (int l = 0; l < ts[i].slices && !s; l++)
            s = read_slice(hm, &ts[i], i, l, host + ts[i].llmc_offset + (size_t)l * ts[i].rows * ts[i].cols, tmp);
    free(tmp);
    return s ? s : check_lm_head(hm, host);
}

// 1 when name (prefix removed) is one of GPT-2's tensors or ignored buffers for a model of L layers.
static int known_name(const char *name, int L) {
    char want[128];
    if (!strcmp(name, LM_HEAD)) return 1;
    for (int i = 0; i < NUM_PARAM_TENSORS; i++)
        for (int l = 0; l < (strstr(hf_names[i].name, "%d") ? L : 1); l++) {
            hf_name(i, l, want, sizeof want);
            if (!strcmp(name, want)) return 1;
        }
    for (size_t k = 0; k < sizeof hf_ignored / sizeof hf_ignored[0]; k++)
        for (int l = 0; l < L; l++) {
            snprintf(want, sizeof want, hf_ignored[k], l);
            if (!strcmp(name, want)) return 1;
        }
    return 0;
}

Status hf_check_names(const HfModel *hm) {
    for (int s = 0; s < hm->num_shards; s++)
        for (int k = 0; k < hm->shards[s].count; k++) {
            const char *name = hm->shards[s].tensors[k].name;
            const char *bare = strncmp(name, PREFIX, strlen(PREFIX)) ? name : name + strlen(PREFIX);
            if (!known_name(bare, hm->config.num_layers))
                return fail(STATUS_INPUT,
                            "Hugging Face model '%s': tensor '%s' is not part of a GPT-2 language model with "
                            "n_layer=%d",
                            hm->path, name, hm->config.num_layers);
        }
    return STATUS_OK;
}

Status hf_infer_config(const HfModel *hm, GPT2Config *c) {
    const SafeTensor *wte = find(hm, hf_names[P_WTE].name), *wpe = find(hm, hf_names[P_WPE].name);
    if (!wte || !wpe || wte->ndim != 2 || wpe->ndim != 2)
        return fail(STATUS_INPUT, "safetensors file '%s' has no 2-D wte.weight and wpe.weight: not a GPT-2",
                    hm->path);
    if (wte->shape[0] > 1 << 30 || wte->shape[1] > 1 << 30 || wpe->shape[0] > 1 << 30)
        return fail(STATUS_INPUT, "safetensors file '%s': wte.weight or wpe.weight is too large for a GPT-2", hm->path);
    *c = (GPT2Config){.vocab_size = (int)wte->shape[0], .channels = (int)wte->shape[1],
                      .max_seq_len = (int)wpe->shape[0]};
    char name[128];
    for (hf_name(P_LN1W, 0, name, sizeof name); find(hm, name); hf_name(P_LN1W, c->num_layers, name, sizeof name))
        c->num_layers++;
    if (c->channels % 64 != 0)
        return fail(STATUS_INPUT,
                    "safetensors file '%s': n_embd %d is not a multiple of 64, so n_head cannot be inferred; put the "
                    "model's config.json beside it",
                    hm->path, c->channels);
    c->num_heads = c->channels / 64;
    return STATUS_OK;
}

// Converts n floats to dtype ("F32", "BF16", "F16") into out (little-endian).
static void convert_out(const float *in, size_t n, const char *dtype, unsigned char *out) {
    if (!strcmp(dtype, "F32")) {
        memcpy(out, in, n * sizeof(float));
        return;
    }
    int bf = !strcmp(dtype, "BF16");
    for (size_t k = 0; k < n; k++) {
        uint16_t h = bf ? f32_to_bf16(in[k]) : f32_to_f16(in[k]);
        out[2 * k] = (unsigned char)h;
        out[2 * k + 1] = (unsigned char)(h >> 8);
    }
}

// One slice of tensor i as transformers stores it: its name and bytes (malloc'ed) into o.
static void export_slice(const GPT2Config *c, const TensorShape *ts, int i, int l, const float *src,
                         const char *dtype, SafeTensorOut *o, char *name) {
    char base[128];
    hf_name(i, l, base, sizeof base);
    snprintf(name, 160, PREFIX "%s", base);
    o->name = name;
    o->dtype = dtype;
    o->ndim = hf_shape(c, ts, i, o->shape);
    size_t n = (size_t)o->shape[0] * (size_t)(o->ndim == 2 ? o->shape[1] : 1), es = strcmp(dtype, "F32") ? 2 : 4;
    float *t = mallocCheck(n * sizeof(float));
    if (hf_names[i].transposed) transpose(src, ts->rows, ts->cols, t);  // (rows, cols) -> (cols, rows)
    else memcpy(t, src, n * sizeof(float));
    unsigned char *bytes = mallocCheck(n * es);
    convert_out(t, n, dtype, bytes);
    free(t);
    o->data = bytes;
    o->bytes = n * es;
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const SafeTensorOut *)a)->name, ((const SafeTensorOut *)b)->name);
}

void hf_model_serialize(const GPT2Config *c, const float *host, const char *dtype, unsigned char **out,
                        size_t *size) {
    TensorShape ts[NUM_PARAM_TENSORS];
    gpt2_tensor_shapes(c, ts);
    int n = 0;
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) n += ts[i].slices;
    SafeTensorOut *o = callocCheck((size_t)n, sizeof *o);
    char *names = callocCheck((size_t)n, 160);
    int k = 0;
    for (int i = 0; i < NUM_PARAM_TENSORS; i++)
        for (int l = 0; l < ts[i].slices; l++, k++)
            export_slice(c, &ts[i], i, l, host + ts[i].llmc_offset + (size_t)l * ts[i].rows * ts[i].cols, dtype,
                         &o[k], names + (size_t)k * 160);
    qsort(o, (size_t)n, sizeof *o, by_name);  // save_pretrained's order: by name
    safetensors_serialize(o, n, out, size);
    for (k = 0; k < n; k++) free((void *)o[k].data);
    free(names);
    free(o);
}
