// The keys and values of the positions a generation has seen, per layer, on
// the device: each new token then costs one single-position forward
// (model/decode.h) instead of a pass over the whole window.
#pragma once
#include "model/model.h"
#include "runtime/ops.h"

typedef struct KVCache {
    const Device *dev;
    int L, B, NH, hs, Tmax;  // B rows (sequences), Tmax positions each
    int len;                 // positions filled, the same in every row
    cl_mem *k, *v;           // per layer (B,NH,Tmax,hs)
    cl_mem spare;            // (B,NH,Tmax,hs), B > 1: kv_cache_reorder gathers into it, then swaps it in
    cl_mem scores;           // (B,NH,Tmax): the decode attention's scratch
    cl_mem parent;           // (B) ints: kv_cache_reorder's row map
} KVCache;

// Allocates a cache of B rows of Tmax positions (1 <= Tmax <= the model's context), empty.
Status kv_cache_create(KVCache *c, const GPT2 *m, int B, int Tmax);
// Releases it; a zeroed KVCache (never created) is left as it is.
void kv_cache_free(KVCache *c);
// Row b of every layer becomes the old row parent[b] (B host ints), over the filled positions.
void kv_cache_reorder(KVCache *c, Ops *o, const int *parent);
