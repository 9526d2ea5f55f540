// Generation's forward passes with a KV cache: B sequences of equal length
// (the rows of num_samples or of the beams), the prompt processed once by a
// prefill, then one single-position forward per new token.
#pragma once
#include "model/kv_cache.h"
#include "model/model.h"
#include "model/workspace.h"
#include "runtime/ops.h"

typedef struct {
    KVCache cache;
    Workspace step;  // (B, 1) forward only
    int start;       // index in the sequences of the token at cache position 0
    float *logits;   // (B, Vp) host: the rows' next-token logits after decoder_feed
} Decoder;

// A decoder for B rows of up to Tmax cached positions (at most the model's context).
Status decoder_create(Decoder *d, const GPT2 *m, int B, int Tmax);
void decoder_free(Decoder *d);
// Brings the cache up to n tokens of each row (row b: tokens + b * stride) and
// leaves each row's logits for the token after them in d->logits. The first call
// runs a prefill over the n tokens (n <= Tmax; with same_rows, over row 0 alone,
// copied to every row); later calls take one new token per row. When the cache is
// full, its last Tmax/2 tokens are prefilled again from position 0 (the model's
// context slides by half a window at a time, not by one token as the recompute
// path's does). Returns a device failure (device_status).
Status decoder_feed(Decoder *d, const GPT2 *m, Ops *o, const int *tokens, size_t stride, int n, int same_rows);
