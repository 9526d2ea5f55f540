// The GPT-2 forward and backward passes, as sequences of device operations.
#pragma once
#include "model/kv_cache.h"
#include "model/model.h"
#include "model/workspace.h"
#include "runtime/ops.h"

// Uploads one micro-batch into ws: inputs and targets (B,T) token ids and, for
// a training workspace, the per-token position buckets that make the embedding
// backward deterministic. targets may be NULL (inference): the loss is then meaningless.
void gpt2_set_batch(Workspace *ws, const int *inputs, const int *targets);
// The buckets of the BT inputs: tokens[u] is the u-th distinct token (ascending),
// its positions are pos[start[u] .. start[u+1]) in ascending order. Returns
// the number of distinct tokens. tokens and pos hold BT ints, start BT+1.
int encoder_buckets(const int *inputs, int BT, int *tokens, int *start, int *pos);

// Forward pass over ws's current micro-batch. Leaves the logits (B,T,Vp) in
// ws->acts.logits and per-position losses in ws->acts.losses, and adds
// loss_scale * sum(losses) to m->stats[0]. With dloss != 0 the fused loss kernel
// replaces the logits by dloss * dL/dlogits, ready for gpt2_backward.
void gpt2_forward(const GPT2 *m, Workspace *ws, Ops *o, float dloss, float loss_scale);

// The forward pass up to the final LayerNorm (ws->acts.lnf, (B,T,C)), for the LM head (gpt2_forward)
// or another head (model/classifier.h). With cache NULL the
// layers attend over the window (gpt2_forward's pass); with a cache and decode 0
// they also write the window's keys and values to positions 0..T-1 of cache rows
// 0..B-1 (a prefill); with decode 1 (T = 1, B the cache's rows) each row's token
// sits at position cache->len, appends its keys and values there and attends over
// positions 0..cache->len. The caller advances cache->len.
void gpt2_forward_trunk(const GPT2 *m, Workspace *ws, Ops *o, KVCache *cache, int decode);

// Backward pass of the last forward in ws (a WS_TRAIN workspace; the forward
// must have had dloss != 0); accumulates into m->grads, so gradient
// accumulation is repeated forward/backward.
void gpt2_backward(GPT2 *m, Workspace *ws, Ops *o);
// The transformer's part of it: from the gradient of the final LayerNorm's output, dlnf (B,T,C) in
// ws->scratch.dbuf (a head's backward puts it there), into m->grads.
void gpt2_backward_trunk(GPT2 *m, Workspace *ws, Ops *o);

// FLOPs of one forward+backward per token (6N + attention, PaLM appendix B).
double gpt2_flops_per_token(const GPT2Config *c, int T);
// The same without the LM head's GEMMs (a classification head's are negligible).
double gpt2_trunk_flops_per_token(const GPT2Config *c, int T);
