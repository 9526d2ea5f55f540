#include "model/kv_cache.h"

#include <string.h>

#include "util/util.h"

// Bytes of one layer's keys (or values), and of the spare: (B,NH,Tmax,hs).
static size_t layer_bytes(const GPT2Config *mc, int B, int Tmax) {
    return (size_t)B * (size_t)Tmax * (size_t)mc->channels * sizeof(float);
}

static Status cache_buffers(KVCache *c, const GPT2 *m, int B, int Tmax) {
    const GPT2Config *mc = &m->config;
    memset(c, 0, sizeof *c);
    c->dev = m->dev;
    c->L = mc->num_layers;
    c->B = B;
    c->NH = mc->num_heads;
    c->hs = mc->channels / mc->num_heads;
    c->Tmax = Tmax;
    c->k = callocCheck((size_t)c->L, sizeof(cl_mem));
    c->v = callocCheck((size_t)c->L, sizeof(cl_mem));
    const size_t bytes = layer_bytes(mc, B, Tmax);
    for (int l = 0; l < c->L; l++) {
        TRY(device_alloc(c->dev, bytes, "KV cache", &c->k[l]));
        TRY(device_alloc(c->dev, bytes, "KV cache", &c->v[l]));
    }
    if (B > 1) TRY(device_alloc(c->dev, bytes, "KV cache", &c->spare));  // one row is never reordered
    TRY(device_alloc(c->dev, (size_t)B * c->NH * Tmax * sizeof(float), "KV cache", &c->scores));
    TRY(device_alloc(c->dev, (size_t)B * sizeof(int), "KV cache", &c->parent));
    return device_status(c->dev);
}

Status kv_cache_create(KVCache *c, const GPT2 *m, int B, int Tmax) {
    if (B < 1 || Tmax < 1 || Tmax > m->config.max_seq_len) internal_error("kv_cache_create: bad shape");
    Status s = cache_buffers(c, m, B, Tmax);
    if (s) kv_cache_free(c);
    return s;
}

static void release(cl_mem b) {
    if (b) CL_CHECK(clReleaseMemObject(b));
}

void kv_cache_free(KVCache *c) {
    if (!c->dev) return;
    for (int l = 0; c->k && l < c->L; l++) {
        release(c->k[l]);
        release(c->v[l]);
    }
    free(c->k);
    free(c->v);
    release(c->spare);
    release(c->scores);
    release(c->parent);
    memset(c, 0, sizeof *c);
}

// Gathers *buf's rows into the spare buffer, which then takes *buf's place (and *buf the spare's).
static void gather_swap(KVCache *c, Ops *o, cl_mem *buf) {
    op_kv_cache_gather(o, c->spare, *buf, c->parent, c->B, c->NH, c->hs, c->Tmax, c->len);
    cl_mem t = *buf;
    *buf = c->spare;
    c->spare = t;
}

void kv_cache_reorder(KVCache *c, Ops *o, const int *parent) {
    int identity = 1;
    for (int b = 0; b < c->B; b++) identity &= parent[b] == b;
    if (identity || c->len == 0) return;
    device_write(c->dev, c->parent, 0, (size_t)c->B * sizeof(int), parent);
    for (int l = 0; l < c->L; l++) {
        gather_swap(c, o, &c->k[l]);
        gather_swap(c, o, &c->v[l]);
    }
}
