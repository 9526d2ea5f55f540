// Global gradient norm in two deterministic passes: NORM_GROUPS work-groups
// each sum the squares of their share (FOR_GRID_ELEMENTS), then one work-group adds the
// partials and turns the norm into the clipping factor. Everything stays on the
// device; the host reads the norm only with the step's loss.

__kernel void sumsq_partial(__global float *partials, __global const float *x, ulong n) {
    __local float scratch[REDUCE_WG];
    floatRV acc = 0.0f;
    FOR_GRID_ELEMENTS(j, n / REDUCE_VW) {
        const floatRV v = LOADRV(x, j);
        acc += v * v;
    }
    float s = lanes_sum_rv(acc);
    FOR_VECTOR_TAIL(i, n) s += x[i] * x[i];
    s = wg_sum(s, scratch, REDUCE_WG);
    if (get_local_id(0) == 0) partials[get_group_id(0)] = s;
}

// stats[1] = ||g||; stats[2] = clip factor as torch.nn.utils.clip_grad_norm_:
// min(1, max_norm / (||g|| + 1e-6)), or 1 when max_norm <= 0 (clipping off).
__kernel void grad_norm_finalize(__global float *stats, __global const float *partials, float max_norm) {
    __local float scratch[REDUCE_WG];
    const int lid = get_local_id(0);
    float s = 0.0f;
    for (int i = lid; i < NORM_GROUPS; i += REDUCE_WG) s += partials[i];
    s = wg_sum(s, scratch, REDUCE_WG);
    if (lid == 0) {
        float norm = sqrt(s);
        stats[1] = norm;
        stats[2] = max_norm > 0.0f ? fmin(1.0f, max_norm / (norm + 1e-6f)) : 1.0f;
    }
}
