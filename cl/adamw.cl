// AdamW in the PyTorch form: decoupled weight decay multiplied by the learning
// rate, bias-corrected moments, eps added after the square root. The gradient is
// first multiplied by the clipping factor computed on the device (stats[2]).
// bias_correction1/2 are 1 - beta^t, computed on the host from the step number.
__kernel void adamw_update(__global float *params, __global const float *grads, __global float *m,
                           __global float *v, __global const float *stats, ulong offset, ulong n, float lr,
                           float beta1, float beta2, float eps, float weight_decay, float bias_correction1,
                           float bias_correction2) {
    const size_t i = get_global_id(0);
    if (i >= n) return;
    const size_t j = offset + i;
    const float g = grads[j] * stats[2];
    const float mj = beta1 * m[j] + (1.0f - beta1) * g;
    const float vj = beta2 * v[j] + (1.0f - beta2) * g * g;
    m[j] = mj;
    v[j] = vj;
    const float mhat = mj / bias_correction1;
    const float vhat = vj / bias_correction2;
    const float w = params[j] * (1.0f - lr * weight_decay);
    params[j] = w - lr * mhat / (sqrt(vhat) + eps);
}
