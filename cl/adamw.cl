// AdamW in the PyTorch form: decoupled weight decay multiplied by the learning
// rate, bias-corrected moments, eps added after the square root. The gradient is
// first multiplied by the clipping factor computed on the device (stats[2]).
// bias_correction1/2 are 1 - beta^t, computed on the host from the step number.
// Elements [offset, offset+n) of the parent buffers, VW per work-item (FOR_VECTOR).
#define ADAMW(T, LOAD, STORE, i)                                         \
    {                                                                    \
        const T g = LOAD(grads, i) * clip;                               \
        const T mi = beta1 * LOAD(m, i) + (1.0f - beta1) * g;            \
        const T vi = beta2 * LOAD(v, i) + (1.0f - beta2) * g * g;        \
        STORE(mi, m, i);                                                 \
        STORE(vi, v, i);                                                 \
        const T mhat = mi / bias_correction1;                            \
        const T vhat = vi / bias_correction2;                            \
        const T w = LOAD(params, i) * (1.0f - lr * weight_decay);        \
        STORE(w - lr * mhat / (sqrt(vhat) + eps), params, i);            \
    }
__kernel void adamw_update(__global float *params, __global const float *grads, __global float *m,
                           __global float *v, __global const float *stats, ulong offset, ulong n, float lr,
                           float beta1, float beta2, float eps, float weight_decay, float bias_correction1,
                           float bias_correction2) {
    const float clip = stats[2];
    params += offset;
    grads += offset;
    m += offset;
    v += offset;
    FOR_VECTOR(n, ADAMW);
}
