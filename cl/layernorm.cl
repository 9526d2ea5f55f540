// LayerNorm over the last dimension, eps 1e-5. Work-groups of LN_WG x LN_ROWS
// items: LN_ROWS rows per group (dimension 1), LN_WG items per row (dimension
// 0), so short rows can still fill a GPU's wide work-group. Items of a row
// past N take part in the barriers only.

// The rest of the LayerNorm of one row once each item holds its share s of
// the row's sum: x is the row, the item's columns are lid, lid + LN_WG, ... < n.
inline void layernorm_row(__global float *out, __global float *mean, __global float *rstd, __global const float *x,
                          __global const float *weight, __global const float *bias, float s, int row, int n, int C,
                          __local float *scratch) {
    const int lid = get_local_id(0);
    const float m = wg_sum(s, scratch, LN_WG) / C;
    float v = 0.0f;
    for (int i = lid; i < n; i += LN_WG) {
        float d = x[i] - m;
        v += d * d;
    }
    const float r = 1.0f / sqrt(wg_sum(v, scratch, LN_WG) / C + 1e-5f);
    for (int i = lid; i < n; i += LN_WG) out[i] = (x[i] - m) * r * weight[i] + bias[i];
    if (lid == 0 && n) {
        mean[row] = m;
        rstd[row] = r;
    }
}

__kernel void layernorm_forward(__global float *out, __global float *mean, __global float *rstd,
                                __global const float *inp, __global const float *weight,
                                __global const float *bias, int N, int C) {
    __local float scratch_rows[LN_ROWS * LN_WG];
    __local float *scratch = scratch_rows + get_local_id(1) * LN_WG;
    const int row = get_global_id(1), lid = get_local_id(0);
    const int n = row < N ? C : 0;  // columns this item's row has
    const size_t off = (size_t)row * C;
    float s = 0.0f;
    for (int i = lid; i < n; i += LN_WG) s += inp[off + i];
    layernorm_row(out + off, mean, rstd, inp + off, weight, bias, s, row, n, C, scratch);
}

// res (N,C) = a + (b + bias[c]), then out = LayerNorm(res) as layernorm_forward:
// a projection's bias, the residual add after it and the next LayerNorm in one
// pass over the rows (LN_FUSED) instead of three kernels. The sums are those of
// the three kernels, so the results are the same bits.
__kernel void residual_layernorm_forward(__global float *res, __global float *out, __global float *mean,
                                         __global float *rstd, __global const float *a, __global const float *b,
                                         __global const float *bias, __global const float *weight,
                                         __global const float *lnbias, int N, int C) {
    __local float scratch_rows[LN_ROWS * LN_WG];
    __local float *scratch = scratch_rows + get_local_id(1) * LN_WG;
    const int row = get_global_id(1), lid = get_local_id(0);
    const int n = row < N ? C : 0;
    const size_t off = (size_t)row * C;
    float s = 0.0f;
    for (int i = lid; i < n; i += LN_WG) {
        const float x = a[off + i] + (b[off + i] + bias[i]);
        res[off + i] = x;
        s += x;
    }
    // Each item reads back only the columns it wrote itself.
    layernorm_row(out + off, mean, rstd, res + off, weight, lnbias, s, row, n, C, scratch);
}

// dinp (N,C) += LayerNorm input gradient (accumulates: dinp is the residual-stream gradient).
__kernel void layernorm_backward_input(__global float *dinp, __global const float *dout,
                                       __global const float *inp, __global const float *weight,
                                       __global const float *mean, __global const float *rstd, int N, int C) {
    __local float scratch_rows[LN_ROWS * LN_WG];
    __local float *scratch = scratch_rows + get_local_id(1) * LN_WG;
    const int row = get_global_id(1), lid = get_local_id(0);
    const int n = row < N ? C : 0;
    const size_t off = (size_t)row * C;
    const float m = row < N ? mean[row] : 0.0f, r = row < N ? rstd[row] : 0.0f;
    float a = 0.0f, b = 0.0f;
    for (int i = lid; i < n; i += LN_WG) {
        float norm = (inp[off + i] - m) * r;
        float dnorm = weight[i] * dout[off + i];
        a += dnorm;
        b += dnorm * norm;
    }
    const float dnorm_mean = wg_sum(a, scratch, LN_WG) / C;
    const float dnorm_norm_mean = wg_sum(b, scratch, LN_WG) / C;
    for (int i = lid; i < n; i += LN_WG) {
        float norm = (inp[off + i] - m) * r;
        float dnorm = weight[i] * dout[off + i];
        dinp[off + i] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * r;
    }
}

// dweight[c] += sum_n dout[n,c] * norm[n,c]; dbias[c] += sum_n dout[n,c]: a
// column reduction as column_sum (columns.cl), the bias sums at dbias +
// dbias_offset. add = 1: into dweight and dbias; add = 0: chunk k's sums into
// dweight[k*C + c] and dbias[dbias_offset + k*C + c] (partials, one buffer).
#define LN_PARAMS(T, LOAD, STORE, c)                                             \
    {                                                                            \
        T dw = 0.0f, db = 0.0f;                                                  \
        for (int n = first; n < end; n++) {                                      \
            const size_t i = (size_t)n * C + c;                                  \
            const T d = LOAD(dout, i);                                           \
            dw += d * ((LOAD(inp, i) - mean[n]) * rstd[n]);                      \
            db += d;                                                             \
        }                                                                        \
        __global float *w_ = dweight + (size_t)get_global_id(1) * C;             \
        __global float *b_ = dbias + dbias_offset + (size_t)get_global_id(1) * C; \
        STORE(add ? LOAD(w_, c) + dw : dw, w_, c);                               \
        STORE(add ? LOAD(b_, c) + db : db, b_, c);                               \
    }
__kernel void layernorm_backward_params(__global float *dweight, __global float *dbias, int dbias_offset,
                                        __global const float *dout, __global const float *inp,
                                        __global const float *mean, __global const float *rstd, int N, int C,
                                        int rows, int add) {
    CHUNK_ROWS(first, end, N, rows);
    FOR_COLUMNS(C, LN_PARAMS);
}
