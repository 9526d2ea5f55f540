// Causal multi-head self-attention around CLBlast's strided-batched GEMMs:
//   qkv (B,T,3C) -> q,k,v (B,NH,T,hs) -> att = softmax(q k^T / sqrt(hs)) (B,NH,T,T)
//   -> y = att v (B,NH,T,hs) -> out (B,T,C).

// q, k, v (B,NH,T,hs) from qkv (B,T,3C); global size B*NH*T*hs.
__kernel void attention_split_heads(__global float *q, __global float *k, __global float *v,
                                    __global const float *qkv, int B, int T, int NH, int hs) {
    const int i = get_global_id(0);
    if (i >= B * NH * T * hs) return;
    const int d = i % hs, t = (i / hs) % T, h = (i / (hs * T)) % NH, b = i / (hs * T * NH);
    const int C = NH * hs;
    const size_t src = ((size_t)b * T + t) * 3 * C + h * hs + d;
    q[i] = qkv[src];
    k[i] = qkv[src + C];
    v[i] = qkv[src + 2 * C];
}

// Inverse of attention_split_heads: dqkv (B,T,3C) from dq, dk, dv (B,NH,T,hs).
__kernel void attention_merge_qkv_grad(__global float *dqkv, __global const float *dq, __global const float *dk,
                                       __global const float *dv, int B, int T, int NH, int hs) {
    const int i = get_global_id(0);
    if (i >= B * NH * T * hs) return;
    const int d = i % hs, t = (i / hs) % T, h = (i / (hs * T)) % NH, b = i / (hs * T * NH);
    const int C = NH * hs;
    const size_t dst = ((size_t)b * T + t) * 3 * C + h * hs + d;
    dqkv[dst] = dq[i];
    dqkv[dst + C] = dk[i];
    dqkv[dst + 2 * C] = dv[i];
}

// out (B,T,C) from y (B,NH,T,hs); global size B*T*C.
__kernel void attention_merge_heads(__global float *out, __global const float *y, int B, int T, int NH, int hs) {
    const int i = get_global_id(0);
    const int C = NH * hs;
    if (i >= B * T * C) return;
    const int c = i % C, t = (i / C) % T, b = i / (C * T);
    const int h = c / hs, d = c % hs;
    out[i] = y[(((size_t)b * NH + h) * T + t) * hs + d];
}

// Backward of attention_merge_heads: dy (B,NH,T,hs) from dout (B,T,C).
__kernel void attention_split_grad(__global float *dy, __global const float *dout, int B, int T, int NH, int hs) {
    const int i = get_global_id(0);
    if (i >= B * NH * T * hs) return;
    const int d = i % hs, t = (i / hs) % T, h = (i / (hs * T)) % NH, b = i / (hs * T * NH);
    const int C = NH * hs;
    dy[i] = dout[((size_t)b * T + t) * C + h * hs + d];
}

// In place over att (N = B*NH*T rows of T): causal softmax of the scaled scores.
// Entries j > t (the future) become exactly 0. Work-groups of SOFTMAX_WG x
// SOFTMAX_ROWS items: SOFTMAX_ROWS rows per group, SOFTMAX_WG items per row
// (as LayerNorm's). Items of a row past N take part in the barriers only.
__kernel void attention_softmax(__global float *att, int N, int T) {
    __local float scratch_rows[SOFTMAX_ROWS * SOFTMAX_WG];
    __local float *scratch = scratch_rows + get_local_id(1) * SOFTMAX_WG;
    const int row = get_global_id(1), lid = get_local_id(0);
    const int t = row < N ? row % T : -1, n = row < N ? T : 0;  // the row's last unmasked column, its length
    __global float *a = att + (size_t)row * T;
    float mx = -INFINITY;
    for (int j = lid; j <= t; j += SOFTMAX_WG) mx = fmax(mx, a[j]);
    mx = wg_max(mx, scratch, SOFTMAX_WG);
    float s = 0.0f;
    for (int j = lid; j <= t; j += SOFTMAX_WG) {
        float e = exp(a[j] - mx);
        a[j] = e;
        s += e;
    }
    const float inv = 1.0f / wg_sum(s, scratch, SOFTMAX_WG);
    for (int j = lid; j < n; j += SOFTMAX_WG) a[j] = j <= t ? a[j] * inv : 0.0f;
}

// In place over datt: dpreatt[j] = att[j] * (datt[j] - sum_k att[k] datt[k]) for j <= t, else 0.
__kernel void attention_softmax_backward(__global float *datt, __global const float *att, int N, int T) {
    __local float scratch_rows[SOFTMAX_ROWS * SOFTMAX_WG];
    __local float *scratch = scratch_rows + get_local_id(1) * SOFTMAX_WG;
    const int row = get_global_id(1), lid = get_local_id(0);
    const int t = row < N ? row % T : -1, n = row < N ? T : 0;
    __global float *d = datt + (size_t)row * T;
    __global const float *a = att + (size_t)row * T;
    float s = 0.0f;
    for (int j = lid; j <= t; j += SOFTMAX_WG) s += a[j] * d[j];
    s = wg_sum(s, scratch, SOFTMAX_WG);
    for (int j = lid; j < n; j += SOFTMAX_WG) d[j] = j <= t ? a[j] * (d[j] - s) : 0.0f;
}
