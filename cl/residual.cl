// out = a + b  (the residual stream; its backward is `accumulate` in common.cl)
__kernel void residual_forward(__global float *out, __global const float *a, __global const float *b, int n) {
    const int i = get_global_id(0);
    if (i < n) out[i] = a[i] + b[i];
}
