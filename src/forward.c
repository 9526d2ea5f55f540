#include "forward.h"

#include <stdlib.h>

#include "util.h"

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

void gpt2_forward(GPT2 *m, Ops *o, float dloss, float loss_scale) {
    const GPT2Config *c = &m->config;
    const int B = m->B, T = m->T, C = c->channels, NH = c->num_heads, L = c->num_layers;
    const int BT = B * T;
    cl_mem *const *p = m->params.slices;

    op_encoder_forward(o, m->acts.encoded, m->inputs, p[P_WTE][0], p[P_WPE][0], B, T, C);  // (B,T,C)
    for (int l = 0; l < L; l++) {
        cl_mem residual = l == 0 ? m->acts.encoded : m->acts.residual3[l - 1];  // (B,T,C)
        op_layernorm_forward(o, m->acts.ln1[l], m->acts.ln1_mean[l], m->acts.ln1_rstd[l], residual, p[P_LN1W][l],
                             p[P_LN1B][l], BT, C);
        op_matmul_forward(o, m->acts.qkv[l], m->acts.ln1[l], p[P_QKVW][l], p[P_QKVB][l], BT, C, 3 * C);  // (B,T,3C)
        op_attention_forward(o, m->acts.atty[l], m->acts.att[l], m->acts.qkv[l], m->acts.q, m->acts.k, m->acts.v,
                             m->acts.y, B, T, C, NH);  // (B,T,C), att (B,NH,T,T)
        op_matmul_forward(o, m->acts.proj_out, m->acts.atty[l], p[P_ATTPROJW][l], p[P_ATTPROJB][l], BT, C, C);
        op_residual_forward(o, m->acts.residual2[l], residual, m->acts.proj_out, BT * C);
        op_layernorm_forward(o, m->acts.ln2[l], m->acts.ln2_mean[l], m->acts.ln2_rstd[l], m->acts.residual2[l],
                             p[P_LN2W][l], p[P_LN2B][l], BT, C);
        op_matmul_forward(o, m->acts.fch[l], m->acts.ln2[l], p[P_FCW][l], p[P_FCB][l], BT, C, 4 * C);  // (B,T,4C)
        op_gelu_forward(o, m->acts.fch_gelu[l], m->acts.fch[l], BT * 4 * C);
        op_matmul_forward(o, m->acts.proj_out, m->acts.fch_gelu[l], p[P_FCPROJW][l], p[P_FCPROJB][l], BT, 4 * C, C);
        op_residual_forward(o, m->acts.residual3[l], m->acts.residual2[l], m->acts.proj_out, BT * C);
    }
    op_layernorm_forward(o, m->acts.lnf, m->acts.lnf_mean, m->acts.lnf_rstd, m->acts.residual3[L - 1], p[P_LNFW][0],
                         p[P_LNFB][0], BT, C);
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
        op_gelu_backward(o, dfch, m->acts.fch[l], dfch, BT * 4 * C);
        op_matmul_backward(o, dbuf, g[P_FCW][l], g[P_FCB][l], dfch, m->acts.ln2[l], p[P_FCW][l], BT, C, 4 * C);
        op_layernorm_backward(o, dresidual, g[P_LN2W][l], g[P_LN2B][l], dbuf, m->acts.residual2[l], p[P_LN2W][l],
                              m->acts.ln2_mean[l], m->acts.ln2_rstd[l], BT, C);
        // attention: residual2 = residual + attproj(attention(qkv(ln1(residual))))
        op_matmul_backward(o, dbuf, g[P_ATTPROJW][l], g[P_ATTPROJB][l], dresidual, m->acts.atty[l],
                           p[P_ATTPROJW][l], BT, C, C);
        op_attention_backward(o, m->scratch.dqkv, dbuf, m->acts.qkv[l], m->acts.att[l], m->acts.q, m->acts.k,
                              m->acts.v, m->scratch.datt, m->scratch.dq, m->scratch.dk, m->scratch.dv, m->scratch.dy,
                              B, T, C, NH);
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
