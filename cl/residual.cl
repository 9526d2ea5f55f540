// out = a + b  (the residual stream; its backward is `accumulate` in common.cl)
#define RESIDUAL(T, LOAD, STORE, i) STORE(LOAD(a, i) + LOAD(b, i), out, i);
__kernel void residual_forward(__global float *out, __global const float *a, __global const float *b, int n) {
    FOR_VECTOR(n, RESIDUAL);
}
