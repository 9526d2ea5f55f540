// Rotational updates (LionAR, rotational AdamW): each row of a matrix tensor
// keeps a fixed norm and turns by a controlled angle every step. One
// work-group of ROW_WG items per row; rows are `cols` long and start at
// offset + r*cols in the parent buffers; target[row_base + r] is the row's norm.

// Step 1 only: optionally make each row zero-mean (keeping its norm), then
// record the norm as the row's target for the whole run.
__kernel void rot_init_rows(__global float *params, __global float *target, ulong offset, int cols, ulong row_base,
                            int zero_mean) {
    __local float scratch[ROW_WG];
    const int lid = get_local_id(0);
    const size_t r = get_group_id(0);
    __global float *w = params + offset + r * (size_t)cols;
    float s = 0.0f, ss = 0.0f;
    for (int j = lid; j < cols; j += ROW_WG) {
        s += w[j];
        ss += w[j] * w[j];
    }
    s = wg_sum(s, scratch, ROW_WG);
    ss = wg_sum(ss, scratch, ROW_WG);
    const float norm = sqrt(ss), mean = s / (float)cols;
    // Barriers only outside conditionals (POCL compiles work-group loops around them).
    float cs = 0.0f;
    for (int j = lid; j < cols; j += ROW_WG) cs += (w[j] - mean) * (w[j] - mean);
    cs = wg_sum(cs, scratch, ROW_WG);
    if (zero_mean && ss > 0.0f) {
        const float scale = cs > 0.0f ? norm / sqrt(cs) : 0.0f;  // a constant row has no direction left
        for (int j = lid; j < cols; j += ROW_WG) w[j] = (w[j] - mean) * scale;
    }
    if (lid == 0) target[row_base + r] = norm;
}

// The unprojected direction of element j and the new optimizer state.
// mode 0: Lion sign direction (see lion.cl); mode 1: Adam direction mhat/(sqrt(vhat)+eps).
inline float rot_direction(int mode, float g, float m_old, float v_old, float beta1, float beta2, float eps,
                           float bc1, float bc2, int nesterov, float *m_new, float *v_new) {
    if (mode == 0) {
        *v_new = v_old;
        return sign(lion_direction(m_old, g, beta1, beta2, nesterov, m_new));
    }
    *m_new = beta1 * m_old + (1.0f - beta1) * g;
    *v_new = beta2 * v_old + (1.0f - beta2) * g * g;
    return (*m_new / bc1) / (sqrt(*v_new / bc2) + eps);
}

// w <- w - theta*||w|| * d/||d|| with d the direction made orthogonal to w
// (after removing its mean when zero_mean), then w <- w * target/||w||.
// theta is the angle of this step (schedule and inverse bias correction
// included); with rho_index >= 0 it is multiplied by snr[rho_index] (RRC).
// Three passes over the row, which stays in cache: the sums, the norm of the
// projected direction, and the write. v may be the same buffer as m in mode 0
// (it is then neither read for the direction nor written).
__kernel void rot_update_rows(__global float *params, __global const float *grads, __global float *m,
                              __global float *v, __global const float *stats, __global const float *target,
                              __global const float *snr, int rho_index, ulong offset, int cols, ulong row_base,
                              int mode, float theta, float beta1, float beta2, float eps, float bc1, float bc2,
                              int nesterov, int zero_mean) {
    __local float4 scratch[ROW_WG];
    const int lid = get_local_id(0);
    const size_t r = get_group_id(0), base = offset + r * (size_t)cols;
    const float clip = stats[2];
    float sd = 0.0f, sdw = 0.0f, sww = 0.0f, sw = 0.0f, mn, vn;
    for (int j = lid; j < cols; j += ROW_WG) {
        const size_t k = base + j;
        const float d = rot_direction(mode, grads[k] * clip, m[k], mode ? v[k] : 0.0f, beta1, beta2, eps, bc1, bc2,
                                      nesterov, &mn, &vn);
        const float w = params[k];
        sd += d;
        sdw += d * w;
        sww += w * w;
        sw += w;
    }
    const float4 s1 = wg_sum4((float4)(sd, sdw, sww, sw), scratch, ROW_WG);
    sd = s1.x;
    sdw = s1.y;
    sww = s1.z;
    sw = s1.w;
    const float mean_d = zero_mean ? sd / (float)cols : 0.0f;
    // d' = d - mean_d ; radial coefficient (d'.w)/||w||^2
    const float radial = sww > 0.0f ? (sdw - mean_d * sw) / sww : 0.0f;
    float spp = 0.0f, swp = 0.0f;
    for (int j = lid; j < cols; j += ROW_WG) {
        const size_t k = base + j;
        const float d = rot_direction(mode, grads[k] * clip, m[k], mode ? v[k] : 0.0f, beta1, beta2, eps, bc1, bc2,
                                      nesterov, &mn, &vn);
        const float w = params[k];
        const float p = d - mean_d - radial * w;
        spp += p * p;
        swp += w * p;
    }
    const float4 s2 = wg_sum4((float4)(spp, swp, 0.0f, 0.0f), scratch, ROW_WG);
    spp = s2.x;
    swp = s2.y;
    const float th = rho_index >= 0 ? theta * snr[rho_index] : theta;
    const float a = th * sqrt(sww) / (sqrt(spp) + 1e-12f);
    // ||w - a p||^2 from the sums: exact up to float rounding, no fourth pass.
    const float new_sq = sww - 2.0f * a * swp + a * a * spp;
    const float scale = new_sq > 0.0f && sww > 0.0f ? target[row_base + r] / sqrt(new_sq) : 1.0f;
    const int move = sww > 0.0f;  // zero rows (padded vocabulary) stay zero
    for (int j = lid; j < cols; j += ROW_WG) {
        const size_t k = base + j;
        const float d = rot_direction(mode, grads[k] * clip, m[k], mode ? v[k] : 0.0f, beta1, beta2, eps, bc1, bc2,
                                      nesterov, &mn, &vn);
        const float w = params[k];
        m[k] = mn;
        if (mode) v[k] = vn;
        if (move) params[k] = (w - a * (d - mean_d - radial * w)) * scale;
    }
}
