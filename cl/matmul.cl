// The matrix products themselves are CLBlast GEMMs; this is the bias add that
// follows them. (The bias gradient is column_sum in common.cl.)

// out (N,OC) += bias (OC)
__kernel void add_bias(__global float *out, __global const float *bias, int N, int OC) {
    const int i = get_global_id(0);
    if (i < N * OC) out[i] += bias[i % OC];
}
