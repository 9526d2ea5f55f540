// Reductions of the update-size measurements and of the gradient
// signal-to-noise estimate. Only small per-row / per-tensor arrays come out;
// the host finishes anything that feeds an angle in double.

// Per row r of a matrix slice, old weights w and new weights w' (rows of
// `cols` at offset + r*cols): out[3*(out_base+r) + {0,1,2}] =
// ||w||^2, (w'-w).w, ||w'-w||^2. Angles follow from these without a cosine.
__kernel void row_delta_stats(__global float *out, __global const float *w_old, __global const float *w_new,
                              ulong offset, int cols, ulong out_base) {
    __local float4 scratch[ROW_WG];
    const int lid = get_local_id(0);
    const size_t r = get_group_id(0), base = offset + r * (size_t)cols;
    float ww = 0.0f, dw = 0.0f, dd = 0.0f;
    for (int j = lid; j < cols; j += ROW_WG) {
        const float w = w_old[base + j], d = w_new[base + j] - w;
        ww += w * w;
        dw += d * w;
        dd += d * d;
    }
    const float4 t = wg_sum4((float4)(ww, dw, dd, 0.0f), scratch, ROW_WG);
    ww = t.x;
    dw = t.y;
    dd = t.z;
    if (lid == 0) {
        out[3 * (out_base + r)] = ww;
        out[3 * (out_base + r) + 1] = dw;
        out[3 * (out_base + r) + 2] = dd;
    }
}

// Sums over elements [offset, offset+n) of x*x, x*y, y*y, (x-y)^2, as
// NORM_GROUPS partials (4 per group); pair_stats_finalize adds them up.
__kernel void pair_stats_partial(__global float *partials, __global const float *x, __global const float *y,
                                 ulong offset, ulong n) {
    __local float scratch[REDUCE_WG];
    x += offset;
    y += offset;
    floatRV vxx = 0.0f, vxy = 0.0f, vyy = 0.0f, vdd = 0.0f;
    FOR_GRID_ELEMENTS(j, n / REDUCE_VW) {
        const floatRV a = LOADRV(x, j), b = LOADRV(y, j);
        vxx += a * a;
        vxy += a * b;
        vyy += b * b;
        vdd += (a - b) * (a - b);
    }
    float xx = lanes_sum_rv(vxx), xy = lanes_sum_rv(vxy), yy = lanes_sum_rv(vyy), dd = lanes_sum_rv(vdd);
    FOR_VECTOR_TAIL(i, n) {
        const float a = x[i], b = y[i];
        xx += a * a;
        xy += a * b;
        yy += b * b;
        dd += (a - b) * (a - b);
    }
    xx = wg_sum(xx, scratch, REDUCE_WG);
    xy = wg_sum(xy, scratch, REDUCE_WG);
    yy = wg_sum(yy, scratch, REDUCE_WG);
    dd = wg_sum(dd, scratch, REDUCE_WG);
    if (get_local_id(0) == 0) {
        const size_t g = 4 * get_group_id(0);
        partials[g] = xx;
        partials[g + 1] = xy;
        partials[g + 2] = yy;
        partials[g + 3] = dd;
    }
}

// out[4*slot + k] (+)= sum of the partials' k-th sums. One work-group.
__kernel void pair_stats_finalize(__global float *out, __global const float *partials, int slot, int accumulate) {
    __local float scratch[REDUCE_WG];
    const int lid = get_local_id(0);
    for (int k = 0; k < 4; k++) {
        float s = 0.0f;
        for (int i = lid; i < NORM_GROUPS; i += REDUCE_WG) s += partials[4 * i + k];
        s = wg_sum(s, scratch, REDUCE_WG);
        if (lid == 0) out[4 * slot + k] = (accumulate ? out[4 * slot + k] : 0.0f) + s;
    }
}

// The RRC denominator ||X W^T||^2 from what the forward pass kept: the layer
// output y = a - b (b: the residual stream before the add, or none) minus the
// bias at bias[bias_offset + col], over an (N, OC) row-major range. Partials
// as pair_stats_partial (sum at [4g], the other three 0), so pair_stats_finalize adds them.
__kernel void output_sumsq_partial(__global float *partials, __global const float *a, __global const float *b,
                                   int use_b, __global const float *bias, ulong bias_offset, int OC, ulong n) {
    __local float scratch[REDUCE_WG];
    float s = 0.0f;
    FOR_GRID_ELEMENTS(i, n) {
        const float y = a[i] - (use_b ? b[i] : 0.0f) - bias[bias_offset + i % (size_t)OC];
        s += y * y;
    }
    s = wg_sum(s, scratch, REDUCE_WG);
    if (get_local_id(0) == 0) {
        const size_t g = 4 * get_group_id(0);
        partials[g] = s;
        partials[g + 1] = partials[g + 2] = partials[g + 3] = 0.0f;
    }
}

// dst[i] = a[offset+i] - b[offset+i]
__kernel void sub_range(__global float *dst, __global const float *a, __global const float *b, ulong offset, ulong n) {
    const size_t i = get_global_id(0);
    if (i < n) dst[i] = a[offset + i] - b[offset + i];
}

// Two-batch-size gradient noise estimate per tensor (one work-item).
// total[4*i] = |g_B|^2 of the accumulated gradient; micro[4*i+3] = sum over the
// accum micro-batches of |delta_k|^2, where delta_k = g_b,k / accum is what
// micro-batch k added to the accumulated gradient (so |g_b,k|^2 = accum^2 |delta_k|^2).
// snr[4*i + {0,1,2,3}] = EMA of G2, EMA of S, phi = G2/S, rho = sqrt((1+phi)/(1+B*phi)).
// The EMAs start at 0; their common bias cancels in the ratio.
__kernel void snr_update(__global float *snr, __global const float *total, __global const float *micro, int count,
                         float b, float B, float accum, float ema) {
    if (get_global_id(0) != 0) return;
    for (int i = 0; i < count; i++) {
        const float gB2 = total[4 * i];
        const float gb2 = accum * micro[4 * i + 3];  // mean_k |g_b,k|^2 = accum^2 * sum_k |delta_k|^2 / accum
        const float G2 = (B * gB2 - b * gb2) / (B - b);
        const float S = (gb2 - gB2) / (1.0f / b - 1.0f / B);
        const float eG = ema * snr[4 * i] + (1.0f - ema) * G2;
        const float eS = ema * snr[4 * i + 1] + (1.0f - ema) * S;
        // A negative signal estimate means no measurable signal; a non-positive noise estimate, no measurable noise.
        const float phi = eS > 0.0f ? fmax(eG, 0.0f) / eS : (eG > 0.0f ? INFINITY : 0.0f);
        snr[4 * i] = eG;
        snr[4 * i + 1] = eS;
        snr[4 * i + 2] = phi;
        snr[4 * i + 3] = isinf(phi) ? rsqrt(B) : sqrt((1.0f + phi) / (1.0f + B * phi));
    }
}
