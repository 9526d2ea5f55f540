// LayerNorm over the last dimension, eps 1e-5, one work-group per row.

__kernel void layernorm_forward(__global float *out, __global float *mean, __global float *rstd,
                                __global const float *inp, __global const float *weight,
                                __global const float *bias, int C) {
    __local float scratch[WG];
    const int row = get_group_id(0), lid = get_local_id(0);
    __global const float *x = inp + (size_t)row * C;
    float s = 0.0f;
    for (int i = lid; i < C; i += WG) s += x[i];
    const float m = wg_sum(s, scratch) / C;
    float v = 0.0f;
    for (int i = lid; i < C; i += WG) {
        float d = x[i] - m;
        v += d * d;
    }
    const float r = 1.0f / sqrt(wg_sum(v, scratch) / C + 1e-5f);
    __global float *o = out + (size_t)row * C;
    for (int i = lid; i < C; i += WG) o[i] = (x[i] - m) * r * weight[i] + bias[i];
    if (lid == 0) {
        mean[row] = m;
        rstd[row] = r;
    }
}

// dinp (N,C) += LayerNorm input gradient (accumulates: dinp is the residual-stream gradient).
__kernel void layernorm_backward_input(__global float *dinp, __global const float *dout,
                                       __global const float *inp, __global const float *weight,
                                       __global const float *mean, __global const float *rstd, int C) {
    __local float scratch[WG];
    const int row = get_group_id(0), lid = get_local_id(0);
    const size_t off = (size_t)row * C;
    const float m = mean[row], r = rstd[row];
    float a = 0.0f, b = 0.0f;
    for (int i = lid; i < C; i += WG) {
        float norm = (inp[off + i] - m) * r;
        float dnorm = weight[i] * dout[off + i];
        a += dnorm;
        b += dnorm * norm;
    }
    const float dnorm_mean = wg_sum(a, scratch) / C;
    const float dnorm_norm_mean = wg_sum(b, scratch) / C;
    for (int i = lid; i < C; i += WG) {
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
