// LayerNorm over the last dimension, eps 1e-5. Work-groups of LN_WG x LN_ROWS
// items: LN_ROWS rows per group (dimension 1), LN_WG items per row (dimension
// 0), so short rows can still fill a GPU's wide work-group. Items of a row
// past N take part in the barriers only.

__kernel void layernorm_forward(__global float *out, __global float *mean, __global float *rstd,
                                __global const float *inp, __global const float *weight,
                                __global const float *bias, int N, int C) {
    __local float scratch_rows[LN_ROWS * LN_WG];
    __local float *scratch = scratch_rows + get_local_id(1) * LN_WG;
    const int row = get_global_id(1), lid = get_local_id(0);
    const int n = row < N ? C : 0;  // columns this item's row has
    __global const float *x = inp + (size_t)row * C;
    float s = 0.0f;
    for (int i = lid; i < n; i += LN_WG) s += x[i];
    const float m = wg_sum(s, scratch, LN_WG) / C;
    float v = 0.0f;
    for (int i = lid; i < n; i += LN_WG) {
        float d = x[i] - m;
        v += d * d;
    }
    const float r = 1.0f / sqrt(wg_sum(v, scratch, LN_WG) / C + 1e-5f);
    __global float *o = out + (size_t)row * C;
    for (int i = lid; i < n; i += LN_WG) o[i] = (x[i] - m) * r * weight[i] + bias[i];
    if (lid == 0 && row < N) {
        mean[row] = m;
        rstd[row] = r;
    }
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

// dweight[c] += sum_n dout[n,c] * norm[n,c]; dbias[c] += sum_n dout[n,c]. One work-item per column.
__kernel void layernorm_backward_params(__global float *dweight, __global float *dbias,
                                        __global const float *dout, __global const float *inp,
                                        __global const float *mean, __global const float *rstd, int N, int C) {
    const int c = get_global_id(0);
    if (c >= C) return;
    float dw = 0.0f, db = 0.0f;
    for (int n = 0; n < N; n++) {
        size_t i = (size_t)n * C + c;
        float norm = (inp[i] - mean[n]) * rstd[n];
        dw += dout[i] * norm;
        db += dout[i];
    }
    dweight[c] += dw;
    dbias[c] += db;
}
