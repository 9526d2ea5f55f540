// Generation with a KV cache: the keys and values of every position seen so
// far, per layer, in k and v (B,NH,Tmax,hs). A prefill writes the prompt's,
// then each new token costs one single-position forward that appends its own
// and attends over the cache.

// out (B,C) = wte[inp[b]] + wpe[pos]: the embedding of one new token per row, at position pos.
__kernel void encoder_forward_at(__global float *out, __global const int *inp, __global const float *wte,
                                 __global const float *wpe, int B, int C, int pos) {
    const int i = get_global_id(0);
    if (i >= B * C) return;
    const int b = i / C, c = i % C;
    out[i] = wte[(size_t)inp[b] * C + c] + wpe[(size_t)pos * C + c];
}

// k, v (B,NH,Tmax,hs) at positions pos..pos+T-1 = the key and value parts of qkv (B,T,3C), bias included.
__kernel void kv_cache_append(__global float *k, __global float *v, __global const float *qkv, int B, int T, int NH,
                              int hs, int Tmax, int pos) {
    const int i = get_global_id(0), C = NH * hs;
    if (i >= B * T * C) return;
    const int d = i % hs, h = i / hs % NH, t = i / C % T, b = i / (C * T);
    const size_t src = ((size_t)b * T + t) * 3 * C + (size_t)h * hs + d;
    const size_t dst = (((size_t)b * NH + h) * Tmax + pos + t) * hs + d;
    k[dst] = qkv[src + C];
    v[dst] = qkv[src + 2 * C];
}

// dst row b = src row parent[b] over positions 0..n-1 (B,NH,Tmax,hs): the cache
// follows the beams that survive a step of beam search.
__kernel void kv_cache_gather(__global float *dst, __global const float *src, __global const int *parent, int B,
                              int NH, int hs, int Tmax, int n) {
    const int i = get_global_id(0);
    if (i >= B * NH * n * hs) return;
    const int d = i % hs, t = i / hs % n, bh = i / (hs * n), h = bh % NH, b = bh / NH;
    const size_t off = ((size_t)h * Tmax + t) * hs + d, row = (size_t)NH * Tmax * hs;
    dst[b * row + off] = src[parent[b] * row + off];
}

// out (B,C) = attention of the one query per row (the q part of qkv (B,3C)) over
// the cached positions 0..n-1, head by head: one (b,h) per row of SOFTMAX_WG
// items (SOFTMAX_ROWS rows per group, as attention_softmax). scores (B,NH,Tmax)
// is scratch. Items of a row past B*NH take part in the barriers only.
__kernel void decode_attention(__global float *out, __global float *scores, __global const float *qkv,
                               __global const float *k, __global const float *v, int B, int NH, int hs, int Tmax,
                               int n, float scale) {
    __local float scratch_rows[SOFTMAX_ROWS * SOFTMAX_WG];
    __local float *scratch = scratch_rows + get_local_id(1) * SOFTMAX_WG;
    const int row = get_global_id(1), lid = get_local_id(0), C = NH * hs;
    const int len = row < B * NH ? n : 0, b = row / NH, h = row % NH;
    __global const float *q = qkv + (size_t)b * 3 * C + (size_t)h * hs;
    __global const float *kr = k + (size_t)row * Tmax * hs, *vr = v + (size_t)row * Tmax * hs;
    __global float *s = scores + (size_t)row * Tmax;
    float mx = -INFINITY;
    for (int t = lid; t < len; t += SOFTMAX_WG) {
        float dot = 0.0f;
        for (int d = 0; d < hs; d++) dot += q[d] * kr[(size_t)t * hs + d];
        s[t] = dot * scale;
        mx = fmax(mx, s[t]);
    }
    mx = wg_max(mx, scratch, SOFTMAX_WG);
    float sum = 0.0f;
    for (int t = lid; t < len; t += SOFTMAX_WG) {
        float e = exp(s[t] - mx);
        s[t] = e;
        sum += e;
    }
    const float inv = 1.0f / wg_sum(sum, scratch, SOFTMAX_WG);
    barrier(CLK_GLOBAL_MEM_FENCE);  // every item reads all of s below
    for (int d = lid; d < (len ? hs : 0); d += SOFTMAX_WG) {
        float acc = 0.0f;
        for (int t = 0; t < len; t++) acc += s[t] * vr[(size_t)t * hs + d];
        out[(size_t)b * C + (size_t)h * hs + d] = acc * inv;
    }
}

// out (N,OC) = inp (N,C) @ w^T (w (OC,C)) + bias (OC) when use_bias, for the few
// rows of a decode step (op_matmul_forward takes it for N <= MATVEC_ROWS_MAX),
// where a GEMM would pad N up to its tile: one output column per work-item, its
// dot products in 16-wide vectors (on CPU devices one SIMD register; the row of
// w stays in cache across the rows).
__kernel void matvec_forward(__global float *out, __global const float *inp, __global const float *w,
                             __global const float *bias, int use_bias, int N, int C, int OC) {
    const int oc = get_global_id(0);
    if (oc >= OC) return;
    __global const float *wr = w + (size_t)oc * C;
    const float b = use_bias ? bias[oc] : 0.0f;
    const int C16 = C / 16 * 16;
    for (int n = 0; n < N; n++) {
        __global const float *x = inp + (size_t)n * C;
        float16 acc = (float16)(0.0f);
        for (int c = 0; c < C16; c += 16) acc += vload16(0, wr + c) * vload16(0, x + c);
        float tail = 0.0f;
        for (int c = C16; c < C; c++) tail += wr[c] * x[c];
        const float8 a8 = acc.lo + acc.hi;
        const float4 a4 = a8.lo + a8.hi;
        out[(size_t)n * OC + oc] = (a4.x + a4.y) + (a4.z + a4.w) + tail + b;
    }
}
