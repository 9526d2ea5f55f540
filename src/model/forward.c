#include "model/forward.h"

#include <stdlib.h>

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

void gpt2_set_batch(GPT2 *m, const int *inputs, const int *targets) {
    const int BT = m->B * m->T;
    const Device *dev = m->dev;
    device_write(dev, m->inputs, 0, (size_t)BT * sizeof(int), inputs);
    if (targets) device_write(dev, m->targets, 0, (size_t)BT * sizeof(int), targets);
    else device_zero(dev, m->targets, 0, (size_t)BT * sizeof(int));
    int *tokens = mallocCheck((size_t)BT * sizeof(int)), *start = mallocCheck(((size_t)BT + 1) * sizeof(int)),
        *pos = mallocCheck((size_t)BT * sizeof(int));
    int u = encoder_buckets(inputs, BT, tokens, start, pos);
    m->num_buckets = u;
    device_write(dev, m->bucket_tokens, 0, (size_t)u * sizeof(int), tokens);
    device_write(dev, m->bucket_start, 0, ((size_t)u + 1) * sizeof(int), start);
    device_write(dev, m->bucket_pos, 0, (size_t)BT * sizeof(int), pos);
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
static void project_add_norm(GPT2 *m, Ops *o, cl_mem res, cl_mem a, cl_mem x, int in, cl_mem w, cl_mem bias,
                             const Norm *n) {
    const int BT = m->B * m->T, C = m->config.channels;
    if (o->kp.v[KP_LN_FUSED]) {
        op_matmul_forward(o, m->acts.proj_out, x, w, NULL, BT, in, C);
        op_residual_layernorm_forward(o, res, n->out, n->mean, n->rstd, a, m->acts.proj_out, bias, n->w, n->b, BT, C);
    } else {
        op_matmul_forward(o, m->acts.proj_out, x, w, bias, BT, in, C);
        op_residual_forward(o, res, a, m->acts.proj_out, BT * C);
        op_layernorm_forward(o, n->out, n->mean, n->rstd, res, n->w, n->b, BT, C);
    }
}

void gpt2_forward(GPT2 *m, Ops *o, float dloss, float loss_scale) {
    const GPT2Config *c = &m->config;
    const int B = m->B, T = m->T, C = c->channels, NH = c->num_heads, L = c->num_layers;
    const int BT = B * T;
    cl_mem *const *p = m->params.slices;
    const int attn_fused = ops_attention_fused(o, C / NH);

    op_encoder_forward(o, m->acts.encoded, m->inputs, p[P_WTE][0], p[P_WPE][0], B, T, C);  // (B,T,C)
    // Every later LayerNorm comes with the residual add before it (project_add_norm).
    op_layernorm_forward(o, m->acts.ln1[0], m->acts.ln1_mean[0], m->acts.ln1_rstd[0], m->acts.encoded, p[P_LN1W][0],
                         p[P_LN1B][0], BT, C);
    for (int l = 0; l < L; l++) {
        cl_mem residual = l == 0 ? m->acts.encoded : m->acts.residual3[l - 1];  // (B,T,C)
        // qkv (B,T,3C); without fused attention, its bias comes with the head split.
        op_matmul_forward(o, m->acts.qkv[l], m->acts.ln1[l], p[P_QKVW][l], attn_fused ? p[P_QKVB][l] : NULL, BT, C,
                          3 * C);
        if (attn_fused)  // att[l] keeps the rows' log-sum-exp (B,NH,T)
            op_attention_fused_forward(o, m->acts.atty[l], m->acts.att[l], m->acts.qkv[l], B, T, C, NH);
        else
            op_attention_forward(o, m->acts.atty[l], m->acts.att[l], m->acts.qkv[l], p[P_QKVB][l], m->acts.q,
                                 m->acts.k, m->acts.v, m->acts.y, B, T, C, NH);  // (B,T,C), att (B,NH,T,T)
        Norm ln2 = norm_of(m->acts.ln2[l], m->acts.ln2_mean[l], m->acts.ln2_rstd[l], p[P_LN2W][l], p[P_LN2B][l]);
        project_add_norm(m, o, m->acts.residual2[l], residual, m->acts.atty[l], C, p[P_ATTPROJW][l],
                         p[P_ATTPROJB][l], &ln2);
        if (o->kp.v[KP_GELU_FUSED]) {
            op_matmul_forward(o, m->acts.fch[l], m->acts.ln2[l], p[P_FCW][l], NULL, BT, C, 4 * C);  // (B,T,4C)
            op_bias_gelu_forward(o, m->acts.fch_gelu[l], m->acts.fch[l], p[P_FCB][l], BT, 4 * C);
        } else {
            op_matmul_forward(o, m->acts.fch[l], m->acts.ln2[l], p[P_FCW][l], p[P_FCB][l], BT, C, 4 * C);
            op_gelu_forward(o, m->acts.fch_gelu[l], m->acts.fch[l], BT * 4 * C);
        }
        // The next LayerNorm: the next layer's first, or the final one.
        Norm next = l + 1 < L ? norm_of(m->acts.ln1[l + 1], m->acts.ln1_mean[l + 1], m->acts.ln1_rstd[l + 1],
                                        p[P_LN1W][l + 1], p[P_LN1B][l + 1])
                              : norm_of(m->acts.lnf, m->acts.lnf_mean, m->acts.lnf_rstd, p[P_LNFW][0], p[P_LNFB][0]);
        project_add_norm(m, o, m->acts.residual3[l], m->acts.residual2[l], m->acts.fch_gelu[l], 4 * C,
                         p[P_FCPROJW][l], p[P_FCPROJB][l], &next);
    }
    // LM head tied to the token embedding: logits (B,T,Vp) = lnf @ wte^T
    op_matmul_forward(o, m->acts.logits, m->acts.lnf, p[P_WTE][0], NULL, BT, C, c->padded_vocab_size);
    op_crossentropy(o, m->acts.logits, m->acts.losses, m->targets, BT, c->vocab_size, c->padded_vocab_size, dloss);
    op_loss_sum(o, m->stats, m->acts.losses, BT, loss_scale);
}

void gpt2_backward(GPT2 *m, Ops *o) {
    const GPT2Config *c = &m->config;
    const int B = m->B, T = m->T, C = c->channels, NH = c->num_heads, L = c->num_layers;
    const int BT = B * T;
    cl_mem *const *p = m->params.slices;
    cl_mem *const *g = m->grads.slices;
    cl_mem dresidual = m->scratch.dresidual;  // (B,T,C): gradient of the residual stream, flowing down
    cl_mem dbuf = m->scratch.dbuf;            // (B,T,C)
    const int attn_fused = ops_attention_fused(o, C / NH);

    // LM head: acts.logits now holds dlogits (B,T,Vp)
    op_matmul_backward(o, dbuf, g[P_WTE][0], NULL, m->acts.logits, m->acts.lnf, p[P_WTE][0], BT, C,
                       c->padded_vocab_size);
    device_zero(m->dev, dresidual, 0, (size_t)BT * C * sizeof(float));
    op_layernorm_backward(o, dresidual, g[P_LNFW][0], g[P_LNFB][0], dbuf, m->acts.residual3[L - 1], p[P_LNFW][0],
                          m->acts.lnf_mean, m->acts.lnf_rstd, BT, C);
    for (int l = L - 1; l >= 0; l--) {
        cl_mem residual = l == 0 ? m->acts.encoded : m->acts.residual3[l - 1];
        // MLP: residual3 = residual2 + fcproj(gelu(fc(ln2(residual2))))
        cl_mem dfch = m->scratch.dfch;  // (B,T,4C)
        op_matmul_backward(o, dfch, g[P_FCPROJW][l], g[P_FCPROJB][l], dresidual, m->acts.fch_gelu[l], p[P_FCPROJW][l],
                           BT, 4 * C, C);
        if (o->kp.v[KP_GELU_BWD_FUSED]) {  // the fc bias gradient comes with the GELU backward
            op_gelu_backward_bias(o, dfch, g[P_FCB][l], m->acts.fch[l], dfch, BT, 4 * C);
            op_matmul_backward(o, dbuf, g[P_FCW][l], NULL, dfch, m->acts.ln2[l], p[P_FCW][l], BT, C, 4 * C);
        } else {
            op_gelu_backward(o, dfch, m->acts.fch[l], dfch, BT * 4 * C);
            op_matmul_backward(o, dbuf, g[P_FCW][l], g[P_FCB][l], dfch, m->acts.ln2[l], p[P_FCW][l], BT, C, 4 * C);
        }
        op_layernorm_backward(o, dresidual, g[P_LN2W][l], g[P_LN2B][l], dbuf, m->acts.residual2[l], p[P_LN2W][l],
                              m->acts.ln2_mean[l], m->acts.ln2_rstd[l], BT, C);
        // attention: residual2 = residual + attproj(attention(qkv(ln1(residual))))
        op_matmul_backward(o, dbuf, g[P_ATTPROJW][l], g[P_ATTPROJB][l], dresidual, m->acts.atty[l],
                           p[P_ATTPROJW][l], BT, C, C);
        if (attn_fused)  // scratch.datt holds the rows' dout . out (B,NH,T)
            op_attention_fused_backward(o, m->scratch.dqkv, m->scratch.datt, dbuf, m->acts.atty[l], m->acts.qkv[l],
                                        m->acts.att[l], B, T, C, NH);
        else
            op_attention_backward(o, m->scratch.dqkv, dbuf, m->acts.qkv[l], m->acts.att[l], m->acts.q, m->acts.k,
                                  m->acts.v, m->scratch.datt, m->scratch.dq, m->scratch.dk, m->scratch.dv,
                                  m->scratch.dy, B, T, C, NH);
        op_matmul_backward(o, dbuf, g[P_QKVW][l], g[P_QKVB][l], m->scratch.dqkv, m->acts.ln1[l], p[P_QKVW][l], BT, C,
                           3 * C);
        op_layernorm_backward(o, dresidual, g[P_LN1W][l], g[P_LN1B][l], dbuf, residual, p[P_LN1W][l],
                              m->acts.ln1_mean[l], m->acts.ln1_rstd[l], BT, C);
    }
    op_encoder_backward(o, g[P_WTE][0], g[P_WPE][0], dresidual, m->bucket_tokens, m->bucket_start, m->bucket_pos,
                        m->num_buckets, B, T, C);
}

double gpt2_flops_per_token(const GPT2Config *c, int T) {
    return 6.0 * (double)gpt2_param_count(c) + 12.0 * c->num_layers * (double)c->channels * T;
}
