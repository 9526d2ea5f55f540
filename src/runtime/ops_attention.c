// Launchers of attention: the unfused path (head split, batched GEMMs, softmax) and the fused kernels.
#include <math.h>

#include "runtime/ops_launch.h"

// ---- attention ----
void op_attention_softmax(Ops *o, cl_mem att, int N, int T) {
    set_args(o, K_attention_softmax, ARG(att), ARG(N), ARG(T));
    launch_rows(o, K_attention_softmax, (size_t)N);
}

void op_attention_softmax_backward(Ops *o, cl_mem datt, cl_mem att, int N, int T) {
    set_args(o, K_attention_softmax_backward, ARG(datt), ARG(att), ARG(N), ARG(T));
    launch_rows(o, K_attention_softmax_backward, (size_t)N);
}

void op_attention_forward(Ops *o, cl_mem out, cl_mem att, cl_mem qkv, cl_mem bias, cl_mem q, cl_mem k, cl_mem v,
                          cl_mem y, int B, int T, int C, int NH) {
    int hs = C / NH, use_bias = bias != NULL;
    size_t th = (size_t)T * hs, tt = (size_t)T * T, batch = (size_t)B * NH;
    cl_mem b = bias ? bias : qkv;  // not read without use_bias
    set_args(o, K_attention_split_heads, ARG(q), ARG(k), ARG(v), ARG(qkv), ARG(b), ARG(use_bias), ARG(B), ARG(T),
             ARG(NH), ARG(hs));
    launch_vec(o, K_attention_split_heads, (size_t)B * T * C);
    // att (T,T) = q k^T / sqrt(hs), per (b,h)
    gemm_batched(o, 0, 1, T, T, hs, 1.0f / sqrtf((float)hs), q, hs, th, k, hs, th, 0.0f, att, T, tt, batch);
    op_attention_softmax(o, att, (int)(batch * T), T);
    // y (T,hs) = att v
    gemm_batched(o, 0, 0, T, hs, T, 1.0f, att, T, tt, v, hs, th, 0.0f, y, hs, th, batch);
    set_args(o, K_attention_merge_heads, ARG(out), ARG(y), ARG(B), ARG(T), ARG(NH), ARG(hs));
    launch_vec(o, K_attention_merge_heads, (size_t)B * T * C);
}

void op_attention_backward(Ops *o, cl_mem dqkv, cl_mem dout, cl_mem qkv, cl_mem att, cl_mem q, cl_mem k, cl_mem v,
                           cl_mem datt, cl_mem dq, cl_mem dk, cl_mem dv, cl_mem dy, int B, int T, int C, int NH) {
    int hs = C / NH;
    size_t th = (size_t)T * hs, tt = (size_t)T * T, batch = (size_t)B * NH;
    float scale = 1.0f / sqrtf((float)hs);
    // q, k, v are recomputed rather than kept per layer: one cheap copy instead of 3 (B,T,C) buffers per layer.
    int no_bias = 0;
    set_args(o, K_attention_split_heads, ARG(q), ARG(k), ARG(v), ARG(qkv), ARG(qkv), ARG(no_bias), ARG(B), ARG(T),
             ARG(NH), ARG(hs));
    launch_vec(o, K_attention_split_heads, (size_t)B * T * C);
    set_args(o, K_attention_split_grad, ARG(dy), ARG(dout), ARG(B), ARG(T), ARG(NH), ARG(hs));
    launch_vec(o, K_attention_split_grad, (size_t)B * T * C);
    // datt = dy v^T ; dv = att^T dy
    gemm_batched(o, 0, 1, T, T, hs, 1.0f, dy, hs, th, v, hs, th, 0.0f, datt, T, tt, batch);
    gemm_batched(o, 1, 0, T, hs, T, 1.0f, att, T, tt, dy, hs, th, 0.0f, dv, hs, th, batch);
    op_attention_softmax_backward(o, datt, att, (int)(batch * T), T);
    // dq = dpre k * scale ; dk = dpre^T q * scale
    gemm_batched(o, 0, 0, T, hs, T, scale, datt, T, tt, k, hs, th, 0.0f, dq, hs, th, batch);
    gemm_batched(o, 1, 0, T, hs, T, scale, datt, T, tt, q, hs, th, 0.0f, dk, hs, th, batch);
    set_args(o, K_attention_merge_qkv_grad, ARG(dqkv), ARG(dq), ARG(dk), ARG(dv), ARG(B), ARG(T), ARG(NH), ARG(hs));
    launch_vec(o, K_attention_merge_qkv_grad, (size_t)B * T * C);
}

// ---- fused attention ----
int ops_attention_fused(const Ops *o, int hs) { return o->kp.v[KP_ATTN_FUSED] && hs <= ATTN_HS_MAX; }

void op_attention_fused_forward(Ops *o, cl_mem out, cl_mem lse, cl_mem qkv, int B, int T, int C, int NH) {
    int hs = C / NH;
    float scale = 1.0f / sqrtf((float)hs);
    set_args(o, K_attention_fused_forward, ARG(out), ARG(lse), ARG(qkv), ARG(T), ARG(NH), ARG(hs), ARG(scale));
    launch_attention(o, K_attention_fused_forward, B, T, NH);
}

void op_attention_fused_backward(Ops *o, cl_mem dqkv, cl_mem dsum, cl_mem dout, cl_mem out, cl_mem qkv, cl_mem lse,
                                 int B, int T, int C, int NH) {
    int hs = C / NH;
    float scale = 1.0f / sqrtf((float)hs);
    set_args(o, K_attention_fused_backward_q, ARG(dqkv), ARG(dsum), ARG(dout), ARG(out), ARG(qkv), ARG(lse), ARG(T),
             ARG(NH), ARG(hs), ARG(scale));
    launch_attention(o, K_attention_fused_backward_q, B, T, NH);
    set_args(o, K_attention_fused_backward_kv, ARG(dqkv), ARG(dout), ARG(qkv), ARG(lse), ARG(dsum), ARG(T), ARG(NH),
             ARG(hs), ARG(scale));
    launch_attention(o, K_attention_fused_backward_kv, B, T, NH);
}
