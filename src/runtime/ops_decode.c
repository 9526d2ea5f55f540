// Launchers of generation with a KV cache (cl/decode.cl).
#include <math.h>

#include "runtime/ops_launch.h"

void op_encoder_forward_at(Ops *o, cl_mem out, cl_mem inp, cl_mem wte, cl_mem wpe, int B, int C, int pos) {
    set_args(o, K_encoder_forward_at, ARG(out), ARG(inp), ARG(wte), ARG(wpe), ARG(B), ARG(C), ARG(pos));
    launch_1d(o, K_encoder_forward_at, (size_t)B * C);
}

void op_kv_cache_append(Ops *o, cl_mem k, cl_mem v, cl_mem qkv, int B, int T, int NH, int hs, int Tmax, int pos) {
    set_args(o, K_kv_cache_append, ARG(k), ARG(v), ARG(qkv), ARG(B), ARG(T), ARG(NH), ARG(hs), ARG(Tmax), ARG(pos));
    launch_1d(o, K_kv_cache_append, (size_t)B * T * NH * hs);
}

void op_kv_cache_gather(Ops *o, cl_mem dst, cl_mem src, cl_mem parent, int B, int NH, int hs, int Tmax, int n) {
    set_args(o, K_kv_cache_gather, ARG(dst), ARG(src), ARG(parent), ARG(B), ARG(NH), ARG(hs), ARG(Tmax), ARG(n));
    launch_1d(o, K_kv_cache_gather, (size_t)B * NH * n * hs);
}

void op_decode_attention(Ops *o, cl_mem out, cl_mem scores, cl_mem qkv, cl_mem k, cl_mem v, int B, int NH, int hs,
                         int Tmax, int n) {
    float scale = 1.0f / sqrtf((float)hs);
    set_args(o, K_decode_attention, ARG(out), ARG(scores), ARG(qkv), ARG(k), ARG(v), ARG(B), ARG(NH), ARG(hs),
             ARG(Tmax), ARG(n), ARG(scale));
    launch_rows(o, K_decode_attention, (size_t)B * NH);
}
