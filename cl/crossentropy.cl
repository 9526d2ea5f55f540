// Softmax + cross-entropy over the padded vocabulary, fused with its backward.
// Columns V..Vp-1 are padding: they take no part in the softmax and get zero gradient.
// One work-group per row of logits (B*T rows of Vp).
//   losses[row] = logsumexp(logits[row, :V]) - logits[row, target]
//   if dloss != 0: logits[row, :] is overwritten by dloss * (softmax - onehot(target)),
//   the gradient of the loss, saving a (B,T,Vp) buffer.
__kernel void crossentropy_forward_backward(__global float *logits, __global float *losses,
                                            __global const int *targets, int V, int Vp, float dloss) {
    __local float scratch[WG];
    const int row = get_group_id(0), lid = get_local_id(0);
    __global float *x = logits + (size_t)row * Vp;
    float mx = -INFINITY;
    for (int i = lid; i < V; i += WG) mx = fmax(mx, x[i]);
    mx = wg_max(mx, scratch);
    float s = 0.0f;
    for (int i = lid; i < V; i += WG) s += exp(x[i] - mx);
    s = wg_sum(s, scratch);
    const int target = targets[row];
    const float logsum = log(s) + mx;
    if (lid == 0) losses[row] = logsum - x[target];
    barrier(CLK_GLOBAL_MEM_FENCE);  // x[target] is read above before it is overwritten below
    if (dloss != 0.0f) {
        for (int i = lid; i < Vp; i += WG) {
            float g = i < V ? exp(x[i] - logsum) - (i == target ? 1.0f : 0.0f) : 0.0f;
            x[i] = g * dloss;
        }
    }
}

// acc[0] += scale * sum(losses[0..n)), in a fixed order by one work-group.
__kernel void loss_sum(__global float *acc, __global const float *losses, int n, float scale) {
    __local float scratch[WG];
    const int lid = get_local_id(0);
    float s = 0.0f;
    for (int i = lid; i < n; i += WG) s += losses[i];
    s = wg_sum(s, scratch);
    if (lid == 0) acc[0] += s * scale;
}
