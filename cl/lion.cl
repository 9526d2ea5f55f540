// Lion (Chen et al. 2023) and LionA, elementwise. LionA is Lion with the sign
// scaled by kappa (kappa = 1 is plain Lion). Also the step of the vector
// tensors under LionAR (weight_decay = 0 there).
// Momentum: c = beta1*m + (1-beta1)*g, m <- beta2*m + (1-beta2)*g; with
// nesterov the momentum is updated first and c = beta1*m_new + (1-beta1)*g
// (the host passes beta1 = beta2 = beta then).
// sign(0) = 0 in OpenCL C, as the spec asks.
inline float lion_direction(float m_old, float g, float beta1, float beta2, int nesterov, float *m_new) {
    *m_new = beta2 * m_old + (1.0f - beta2) * g;
    return beta1 * (nesterov ? *m_new : m_old) + (1.0f - beta1) * g;
}

// Elements [offset, offset+n) of the parent buffers, VW per work-item (FOR_VECTOR).
#define LION(T, LOAD, STORE, i)                                                          \
    {                                                                                    \
        const T g = LOAD(grads, i) * clip;                                               \
        const T m_old = LOAD(m, i);                                                      \
        const T m_new = beta2 * m_old + (1.0f - beta2) * g;                              \
        const T c = beta1 * (nesterov ? m_new : m_old) + (1.0f - beta1) * g;             \
        STORE(m_new, m, i);                                                              \
        STORE(LOAD(params, i) * (1.0f - lr * weight_decay) - lr * (kappa * sign(c)), params, i); \
    }
__kernel void lion_update(__global float *params, __global const float *grads, __global float *m,
                          __global const float *stats, ulong offset, ulong n, float lr, float beta1, float beta2,
                          float weight_decay, float kappa, int nesterov) {
    const float clip = stats[2];
    params += offset;
    grads += offset;
    m += offset;
    FOR_VECTOR(n, LION);
}
