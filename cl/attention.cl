// Causal multi-head self-attention around CLBlast's strided-batched GEMMs:
//   qkv (B,T,3C) -> q,k,v (B,NH,T,hs) -> att = softmax(q k^T / sqrt(hs)) (B,NH,T,T)
//   -> y = att v (B,NH,T,hs) -> out (B,T,C).

// Element i of a (B,NH,T,hs) tensor: its index in a (B,T,parts*C) one (in the first part).
inline size_t head_index(int i, int T, int NH, int hs, int parts) {
    const int d = i % hs, t = i / hs % T, h = i / (hs * T) % NH, b = i / (hs * T * NH);
    return ((size_t)b * T + t) * parts * NH * hs + (size_t)h * hs + d;
}

// The head copies below: work-item g handles elements [g*VW, g*VW + VW) of the
// (B,NH,T,hs) side, as one vector when hs is a multiple of VW (a span then stays
// inside one head row, contiguous on both sides), else element by element.
// BODY(TY, LOAD, STORE, i, j): element i there is element j on the other side.
#define FOR_HEAD_SPANS(n, parts, BODY)                                     \
    do {                                                                   \
        const int first_ = get_global_id(0) * VW;                          \
        if (hs % VW == 0 && first_ + VW <= (n)) {                          \
            const size_t j_ = head_index(first_, T, NH, hs, (parts));      \
            BODY(floatVW, LOADVW, STOREVW, first_, j_)                     \
        } else {                                                           \
            for (int i_ = first_; i_ < min(first_ + VW, (n)); i_++) {      \
                const size_t j_ = head_index(i_, T, NH, hs, (parts));      \
                BODY(float, LOAD1, STORE1, i_, j_)                         \
            }                                                              \
        }                                                                  \
    } while (0)

// q, k, v (B,NH,T,hs) from qkv (B,T,3C). With use_bias, the qkv layer's bias
// (3C) is added first and written back to qkv too (op_matmul_forward's bias add,
// folded into this pass over qkv).
#define SPLIT_HEADS(TY, LOAD, STORE, i, j)                                  \
    {                                                                       \
        TY x0 = LOAD(qkv, j), x1 = LOAD(qkv, (j) + C), x2 = LOAD(qkv, (j) + 2 * C); \
        if (use_bias) {                                                     \
            const size_t c_ = (j) % (3 * (size_t)C);                        \
            x0 += LOAD(bias, c_);                                           \
            x1 += LOAD(bias, c_ + C);                                       \
            x2 += LOAD(bias, c_ + 2 * C);                                   \
            STORE(x0, qkv, j);                                              \
            STORE(x1, qkv, (j) + C);                                        \
            STORE(x2, qkv, (j) + 2 * C);                                    \
        }                                                                   \
        STORE(x0, q, i);                                                    \
        STORE(x1, k, i);                                                    \
        STORE(x2, v, i);                                                    \
    }
__kernel void attention_split_heads(__global float *q, __global float *k, __global float *v, __global float *qkv,
                                    __global const float *bias, int use_bias, int B, int T, int NH, int hs) {
    const int C = NH * hs;
    FOR_HEAD_SPANS(B * T * C, 3, SPLIT_HEADS);
}

// Inverse of attention_split_heads: dqkv (B,T,3C) from dq, dk, dv (B,NH,T,hs).
#define MERGE_QKV_GRAD(TY, LOAD, STORE, i, j)  \
    {                                          \
        STORE(LOAD(dq, i), dqkv, j);           \
        STORE(LOAD(dk, i), dqkv, (j) + C);     \
        STORE(LOAD(dv, i), dqkv, (j) + 2 * C); \
    }
__kernel void attention_merge_qkv_grad(__global float *dqkv, __global const float *dq, __global const float *dk,
                                       __global const float *dv, int B, int T, int NH, int hs) {
    const int C = NH * hs;
    FOR_HEAD_SPANS(B * T * C, 3, MERGE_QKV_GRAD);
}

// out (B,T,C) from y (B,NH,T,hs).
#define MERGE_HEADS(TY, LOAD, STORE, i, j) STORE(LOAD(y, i), out, j);
__kernel void attention_merge_heads(__global float *out, __global const float *y, int B, int T, int NH, int hs) {
    FOR_HEAD_SPANS(B * T * NH * hs, 1, MERGE_HEADS);
}

// Backward of attention_merge_heads: dy (B,NH,T,hs) from dout (B,T,C).
#define SPLIT_GRAD(TY, LOAD, STORE, i, j) STORE(LOAD(dout, j), dy, i);
__kernel void attention_split_grad(__global float *dy, __global const float *dout, int B, int T, int NH, int hs) {
    FOR_HEAD_SPANS(B * T * NH * hs, 1, SPLIT_GRAD);
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
