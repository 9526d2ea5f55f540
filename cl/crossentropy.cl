// Softmax + cross-entropy over the padded vocabulary, fused with its backward.
// Columns V..Vp-1 are padding: they take no part in the softmax and get zero gradient.
// One work-group of CE_WG items per row of logits (B*T rows of Vp).
//   losses[row] = logsumexp(logits[row, :V]) - logits[row, target]
//   if dloss != 0: logits[row, :] is overwritten by dloss * (softmax - onehot(target)),
//   the gradient of the loss, saving a (B,T,Vp) buffer.
// A negative target masks its row out (supervised fine-tuning's prompt tokens): loss 0 and,
// with dloss != 0, a zero gradient. Rows with a target take exactly the unmasked path.
// Each work-item reads CE_VW-wide vectors (the first V/CE_VW*CE_VW columns) and
// then single columns (the rest): on CPUs, where a small work-group is best
// (no barriers), the vectors are what keeps exp() in SIMD.
#ifndef CE_VW
#define CE_VW 1
#endif
#define floatCE FLOATN(CE_VW)
#define LOADCE(p, j) VLOADN(CE_VW)((j), (p))
#define STORECE(x, p, j) VSTOREN(CE_VW)((x), (j), (p))

LANES_REDUCE(lanes_max_ce, floatCE, CE_VW, fmax, -INFINITY)
LANES_REDUCE(lanes_sum_ce, floatCE, CE_VW, WG_ADD, 0.0f)

__kernel void crossentropy_forward_backward(__global float *logits, __global float *losses,
                                            __global const int *targets, int V, int Vp, float dloss) {
    __local float scratch[CE_WG];
    const int row = get_group_id(0), lid = get_local_id(0);
    const int nv = V / CE_VW, tail = nv * CE_VW;  // vectors, then columns [tail, V)
    __global float *x = logits + (size_t)row * Vp;
    const int target = targets[row];
    if (target < 0) {  // the same for the whole work-group, so no barrier is skipped by some items only
        if (lid == 0) losses[row] = 0.0f;
        if (dloss != 0.0f)
            for (int i = lid; i < Vp; i += CE_WG) x[i] = 0.0f;
        return;
    }
    floatCE mv = -INFINITY;
    for (int j = lid; j < nv; j += CE_WG) mv = fmax(mv, LOADCE(x, j));
    float mx = lanes_max_ce(mv);
    for (int i = tail + lid; i < V; i += CE_WG) mx = fmax(mx, x[i]);
    mx = wg_max(mx, scratch, CE_WG);
    floatCE sv = 0.0f;
    for (int j = lid; j < nv; j += CE_WG) sv += exp(LOADCE(x, j) - mx);
    float s = lanes_sum_ce(sv);
    for (int i = tail + lid; i < V; i += CE_WG) s += exp(x[i] - mx);
    s = wg_sum(s, scratch, CE_WG);
    const float logsum = log(s) + mx;
    if (lid == 0) losses[row] = logsum - x[target];
    barrier(CLK_GLOBAL_MEM_FENCE);  // x[target] is read above before it is overwritten below
    if (dloss != 0.0f) {
        for (int j = lid; j < nv; j += CE_WG) STORECE(exp(LOADCE(x, j) - logsum) * dloss, x, j);
        for (int i = tail + lid; i < Vp; i += CE_WG) {
            float g = i < V ? exp(x[i] - logsum) - (i == target ? 1.0f : 0.0f) : 0.0f;
            x[i] = g * dloss;
        }
    }
    barrier(CLK_GLOBAL_MEM_FENCE);
    if (dloss != 0.0f && lid == 0 && target < tail) x[target] -= dloss;  // the one-hot term of a vector column
}

// acc[0] += scale * sum(losses[0..n)), in a fixed order by one work-group.
__kernel void loss_sum(__global float *acc, __global const float *losses, int n, float scale) {
    __local float scratch[CE_WG];
    const int lid = get_local_id(0);
    float s = 0.0f;
    for (int i = lid; i < n; i += CE_WG) s += losses[i];
    s = wg_sum(s, scratch, CE_WG);
    if (lid == 0) acc[0] += s * scale;
}
