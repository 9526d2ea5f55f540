#include "model/forward.h"

#include <stdlib.h>

#include "model/freeze.h"
#include "util/util.h"

typedef struct {
    int token, pos;
} TokenPos;

static int cmp_token_pos(const void *a, const void *b) {
    const TokenPos *x = a, *y = b;
    if (x->token != y->token) return x->token < y->token ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

int encoder_buckets(const int *inputs, int BT, int *tokens, int *start, int *pos) {
    // Group positions by token, positions ascending within a token: the sum order is fixed.
    TokenPos *tp = mallocCheck((size_t)BT * sizeof *tp);
    for (int i = 0; i < BT; i++) tp[i] = (TokenPos){inputs[i], i};
    qsort(tp, (size_t)BT, sizeof *tp, cmp_token_pos);
    int u = 0;
    for (int i = 0; i < BT; i++) {
        if (i == 0 || tp[i].token != tp[i - 1].token) {
            tokens[u] = tp[i].token;
            start[u++] = i;
        }
        pos[i] = tp[i].pos;
    }
    start[u] = BT;
    free(tp);
    return u;
}

void gpt2_set_batch(Workspace *ws, const int *inputs, const int *targets) {
    const int BT = ws->B * ws->T;
    const Device *dev = ws->dev;
    device_write(dev, ws->inputs, 0, (size_t)BT * sizeof(int), inputs);
    if (targets) device_write(dev, ws->targets, 0, (size_t)BT * sizeof(int), targets);
    else device_zero(dev, ws->targets, 0, (size_t)BT * sizeof(int));
    if (ws->use != WS_TRAIN) return;  // the buckets serve the backward pass only
    int *tokens = mallocCheck((size_t)BT * sizeof(int)), *start = mallocCheck(((size_t)BT + 1) * sizeof(int)),
        *pos = mallocCheck((size_t)BT * sizeof(int));
    int u = encoder_buckets(inputs, BT, tokens, start, pos);
    ws->num_buckets = u;
    device_write(dev, ws->bucket_tokens, 0, (size_t)u * sizeof(int), tokens);
    device_write(dev, ws->bucket_start, 0, ((size_t)u + 1) * sizeof(int), start);
    device_write(dev, ws->bucket_pos, 0, (size_t)BT * sizeof(int), pos);
    free(tokens);
    free(start);
    free(pos);
}

// A LayerNorm's outputs and parameters.
typedef struct {
    cl_mem out, mean, rstd, w, b;
} Norm;

static Norm norm_of(cl_mem out, cl_mem mean, cl_mem rstd, cl_mem w, cl_mem b) { return (Norm){out, mean, rstd, w, b}; }

// A projection that feeds the residual stream, and the LayerNorm after it:
// res (B,T,C) = a + (x @ w^T + bias), then n.out = LayerNorm(res). With
// LN_FUSED the bias, the residual add and the LayerNorm are one kernel.
static void project_add_norm(const GPT2 *m, Workspace *ws, Ops *o, cl_mem res, cl_mem a, cl_mem x, int in, cl_mem w,
                             cl_mem bias, const Norm *n) {
    const int BT = ws->B * ws->T, C = m->config.channels;
    cl_mem proj_out = ws->acts.proj_out;  // (B,T,C)
    if (o->kp.v[KP_LN_FUSED]) {
        op_matmul_forward(o, proj_out, x, w, NULL, BT, in, C);
        op_residual_layernorm_forward(o, res, n->out, n->mean, n->rstd, a, proj_out, bias, n->w, n->b, BT, C);
    } else {
        op_matmul_forward(o, proj_out, x, w, bias, BT, in, C);
        op_residual_forward(o, res, a, proj_out, BT * C);
        op_layernorm_forward(o, n->out, n->mean, n->rstd, res, n->w, n->b, BT, C);
    }
}

// Layer l's attention: atty[l] (B,T,C) from ln1[l], over the window (cache NULL), also writing the window's
// keys and values to positions 0.. of the cache (prefill), or, with decode, for one new position per row
// over the cache (T = 1).
static void attend(const GPT2 *m, Workspace *ws, Ops *o, int l, KVCache *cache, int decode) {
    const GPT2Config *c = &m->config;
    const int B = ws->B, T = ws->T, C = c->channels, NH = c->num_heads, hs = C / NH;
    cl_mem *const *p = m->params.slices;
    const Activations *a = &ws->acts;
    const int attn_fused = ops_attention_fused(o, hs);
    // qkv (B,T,3C); without fused attention, its bias comes with the head split.
    op_matmul_forward(o, a->qkv[l], a->ln1[l], p[P_QKVW][l], attn_fused || decode ? p[P_QKVB][l] : NULL, B * T, C,
                      3 * C);
    if (decode) {
        op_kv_cache_append(o, cache->k[l], cache->v[l], a->qkv[l], B, 1, NH, hs, cache->Tmax, cache->len);
        op_decode_attention(o, a->atty[l], cache->scores, a->qkv[l], cache->k[l], cache->v[l], B, NH, hs,
                            cache->Tmax, cache->len + 1);
        return;
    }
    if (attn_fused)  // att[l] keeps the rows' log-sum-exp (B,NH,T)
        op_attention_fused_forward(o, a->atty[l], a->att[l], a->qkv[l], B, T, C, NH);
    else  // (B,T,C), att (B,NH,T,T); qkv gets its bias
        op_attention_forward(o, a->atty[l], a->att[l], a->qkv[l], p[P_QKVB][l], a->q, a->k, a->v, a->y, B, T, C, NH);
    if (cache) op_kv_cache_append(o, cache->k[l], cache->v[l], a->qkv[l], B, T, NH, hs, cache->Tmax, 0);
}

void gpt2_forward_trunk(const GPT2 *m, Workspace *ws, Ops *o, KVCache *cache, int decode) {
    const GPT2Config *c = &m->config;
    const int B = ws->B, T = ws->T, C = c->channels, L = c->num_layers;
    const int BT = B * T;
    cl_mem *const *p = m->params.slices;
    const Activations *a = &ws->acts;

    if (decode)  // (B,1,C) at the cache's next position
        op_encoder_forward_at(o, a->encoded, ws->inputs, p[P_WTE][0], p[P_WPE][0], B, C, cache->len);
    else
        op_encoder_forward(o, a->encoded, ws->inputs, p[P_WTE][0], p[P_WPE][0], B, T, C);  // (B,T,C)
    // Every later LayerNorm comes with the residual add before it (project_add_norm).
    op_layernorm_forward(o, a->ln1[0], a->ln1_mean[0], a->ln1_rstd[0], a->encoded, p[P_LN1W][0],
                         p[P_LN1B][0], BT, C);
    for (int l = 0; l < L; l++) {
        cl_mem residual = l == 0 ? a->encoded : a->residual3[l - 1];  // (B,T,C)
        attend(m, ws, o, l, cache, decode);
        Norm ln2 = norm_of(a->ln2[l], a->ln2_mean[l], a->ln2_rstd[l], p[P_LN2W][l], p[P_LN2B][l]);
        project_add_norm(m, ws, o, a->residual2[l], residual, a->atty[l], C, p[P_ATTPROJW][l],
                         p[P_ATTPROJB][l], &ln2);
        if (o->kp.v[KP_GELU_FUSED]) {
            op_matmul_forward(o, a->fch[l], a->ln2[l], p[P_FCW][l], NULL, BT, C, 4 * C);  // (B,T,4C)
            op_bias_gelu_forward(o, a->fch_gelu[l], a->fch[l], p[P_FCB][l], BT, 4 * C);
        } else {
            op_matmul_forward(o, a->fch[l], a->ln2[l], p[P_FCW][l], p[P_FCB][l], BT, C, 4 * C);
            op_gelu_forward(o, a->fch_gelu[l], a->fch[l], BT * 4 * C);
        }
        // The next LayerNorm: the next layer's first, or the final one.
        Norm next = l + 1 < L ? norm_of(a->ln1[l + 1], a->ln1_mean[l + 1], a->ln1_rstd[l + 1],
                                        p[P_LN1W][l + 1], p[P_LN1B][l + 1])
                              : norm_of(a->lnf, a->lnf_mean, a->lnf_rstd, p[P_LNFW][0], p[P_LNFB][0]);
        project_add_norm(m, ws, o, a->residual3[l], a->residual2[l], a->fch_gelu[l], 4 * C,
                         p[P_FCPROJW][l], p[P_FCPROJB][l], &next);
    }
}

void gpt2_forward(const GPT2 *m, Workspace *ws, Ops *o, float dloss, float loss_scale) {
    const GPT2Config *c = &m->config;
    const int BT = ws->B * ws->T;
    const Activations *a = &ws->acts;
    gpt2_forward_trunk(m, ws, o, NULL, 0);
    // LM head tied to the token embedding: logits (B,T,Vp) = lnf @ wte^T
    op_matmul_forward(o, a->logits, a->lnf, m->params.slices[P_WTE][0], NULL, BT, c->channels,
                      c->padded_vocab_size);
    op_crossentropy(o, a->logits, a->losses, ws->targets, BT, c->vocab_size, c->padded_vocab_size, dloss);
    op_loss_sum(o, m->stats, a->losses, BT, loss_scale);
}

// A LayerNorm's parameter gradients: both NULL when both are frozen (one frozen alone is still
// computed, then zeroed by gpt2_zero_frozen_grads).
static void norm_grads(const GPT2 *m, int tw, int tb, int l, cl_mem *dw, cl_mem *db) {
    int skip = m->tensors[tw].frozen[l] && m->tensors[tb].frozen[l];
    *dw = skip ? NULL : m->grads.slices[tw][l];
    *db = skip ? NULL : m->grads.slices[tb][l];
}

// One block's backward: dresidual (B,T,C) flows from its output to its input. Frozen tensors'
// weight gradients are not computed (gpt2_grad_or_null).
static void block_backward(GPT2 *m, Workspace *ws, Ops *o, int l) {
    const GPT2Config *c = &m->config;
    const int B = ws->B, T = ws->T, C = c->channels, NH = c->num_heads, BT = B * T;
    cl_mem *const *p = m->params.slices;
    const Activations *a = &ws->acts;
    const BackwardScratch *s = &ws->scratch;
    cl_mem dresidual = s->dresidual, dbuf = s->dbuf;  // (B,T,C)
    cl_mem residual = l == 0 ? a->encoded : a->residual3[l - 1];
    cl_mem dw, db;
    // MLP: residual3 = residual2 + fcproj(gelu(fc(ln2(residual2))))
    cl_mem dfch = s->dfch;  // (B,T,4C)
    op_matmul_backward(o, dfch, gpt2_grad_or_null(m, P_FCPROJW, l), gpt2_grad_or_null(m, P_FCPROJB, l), dresidual,
                       a->fch_gelu[l], p[P_FCPROJW][l], BT, 4 * C, C);
    cl_mem dfcb = gpt2_grad_or_null(m, P_FCB, l);
    if (o->kp.v[KP_GELU_BWD_FUSED] && dfcb) {  // the fc bias gradient comes with the GELU backward
        op_gelu_backward_bias(o, dfch, dfcb, a->fch[l], dfch, BT, 4 * C);
        op_matmul_backward(o, dbuf, gpt2_grad_or_null(m, P_FCW, l), NULL, dfch, a->ln2[l], p[P_FCW][l], BT, C, 4 * C);
    } else {
        op_gelu_backward(o, dfch, a->fch[l], dfch, BT * 4 * C);
        op_matmul_backward(o, dbuf, gpt2_grad_or_null(m, P_FCW, l), dfcb, dfch, a->ln2[l], p[P_FCW][l], BT, C, 4 * C);
    }
    norm_grads(m, P_LN2W, P_LN2B, l, &dw, &db);
    op_layernorm_backward(o, dresidual, dw, db, dbuf, a->residual2[l], p[P_LN2W][l], a->ln2_mean[l], a->ln2_rstd[l],
                          BT, C);
    // attention: residual2 = residual + attproj(attention(qkv(ln1(residual))))
    op_matmul_backward(o, dbuf, gpt2_grad_or_null(m, P_ATTPROJW, l), gpt2_grad_or_null(m, P_ATTPROJB, l), dresidual,
                       a->atty[l], p[P_ATTPROJW][l], BT, C, C);
    if (ops_attention_fused(o, C / NH))  // scratch.datt holds the rows' dout . out (B,NH,T)
        op_attention_fused_backward(o, s->dqkv, s->datt, dbuf, a->atty[l], a->qkv[l], a->att[l], B, T, C, NH);
    else
        op_attention_backward(o, s->dqkv, dbuf, a->qkv[l], a->att[l], a->q, a->k, a->v, s->datt, s->dq, s->dk, s->dv,
                              s->dy, B, T, C, NH);
    op_matmul_backward(o, dbuf, gpt2_grad_or_null(m, P_QKVW, l), gpt2_grad_or_null(m, P_QKVB, l), s->dqkv, a->ln1[l],
                       p[P_QKVW][l], BT, C, 3 * C);
    norm_grads(m, P_LN1W, P_LN1B, l, &dw, &db);
    op_layernorm_backward(o, dresidual, dw, db, dbuf, residual, p[P_LN1W][l], a->ln1_mean[l], a->ln1_rstd[l], BT, C);
}

void gpt2_backward(GPT2 *m, Workspace *ws, Ops *o) {
    if (ws->use != WS_TRAIN) internal_error("gpt2_backward needs a training workspace");
    const GPT2Config *c = &m->config;
    const int BT = ws->B * ws->T, C = c->channels;
    // LM head: acts.logits now holds dlogits (B,T,Vp); dlnf (B,T,C) into scratch.dbuf
    op_matmul_backward(o, ws->scratch.dbuf, gpt2_grad_or_null(m, P_WTE, 0), NULL, ws->acts.logits, ws->acts.lnf,
                       m->params.slices[P_WTE][0], BT, C, c->padded_vocab_size);
    gpt2_backward_trunk(m, ws, o);
}

void gpt2_backward_trunk(GPT2 *m, Workspace *ws, Ops *o) {
    if (ws->use != WS_TRAIN) internal_error("gpt2_backward_trunk needs a training workspace");
    const GPT2Config *c = &m->config;
    const int B = ws->B, T = ws->T, C = c->channels, L = c->num_layers;
    const int BT = B * T;
    cl_mem *const *p = m->params.slices;
    cl_mem *const *g = m->grads.slices;
    const Activations *a = &ws->acts;
    cl_mem dresidual = ws->scratch.dresidual;  // (B,T,C): gradient of the residual stream, flowing down
    cl_mem dbuf = ws->scratch.dbuf;            // (B,T,C)
    cl_mem dw, db;

    device_zero(m->dev, dresidual, 0, (size_t)BT * C * sizeof(float));
    norm_grads(m, P_LNFW, P_LNFB, 0, &dw, &db);
    op_layernorm_backward(o, dresidual, dw, db, dbuf, a->residual3[L - 1], p[P_LNFW][0], a->lnf_mean, a->lnf_rstd,
                          BT, C);
    // Below the lowest block that trains nothing needs the gradient (freeze).
    for (int l = L - 1; l >= gpt2_backward_floor(m); l--) block_backward(m, ws, o, l);
    if (!m->tensors[P_WTE].frozen[0] || !m->tensors[P_WPE].frozen[0])
        op_encoder_backward(o, g[P_WTE][0], g[P_WPE][0], dresidual, ws->bucket_tokens, ws->bucket_start,
                            ws->bucket_pos, ws->num_buckets, B, T, C);
}

double gpt2_flops_per_token(const GPT2Config *c, int T) {
    return 6.0 * (double)gpt2_param_count(c) + 12.0 * c->num_layers * (double)c->channels * T;
}

double gpt2_trunk_flops_per_token(const GPT2Config *c, int T) {
    return gpt2_flops_per_token(c, T) - 6.0 * (double)c->padded_vocab_size * c->channels;
}
