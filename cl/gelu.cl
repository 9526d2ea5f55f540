// GELU, tanh approximation (as GPT-2). Elementwise: VW elements per work-item (FOR_VECTOR).
#define GELU_SCALE 0.7978845608028654f  // sqrt(2/pi)

#define GELU_FORWARD(T, LOAD, STORE, i)                                      \
    {                                                                        \
        const T x = LOAD(inp, i);                                            \
        const T cube = 0.044715f * x * x * x;                                \
        STORE(0.5f * x * (1.0f + tanh(GELU_SCALE * (x + cube))), out, i);    \
    }
__kernel void gelu_forward(__global float *out, __global const float *inp, int n) { FOR_VECTOR(n, GELU_FORWARD); }

// dinp = gelu'(inp) * dout; dinp may alias dout.
// sech^2 from cosh, not 1 - tanh^2: for large |x| tanh may round to just below 1 and
// 1 - tanh^2 times the x^3 term explodes, while 1/cosh^2 goes cleanly to 0.
#define GELU_BACKWARD(T, LOAD, STORE, i)                                                                       \
    {                                                                                                          \
        const T x = LOAD(inp, i);                                                                              \
        const T tanh_arg = GELU_SCALE * (x + 0.044715f * x * x * x);                                           \
        const T cosh_out = cosh(tanh_arg);                                                                     \
        const T sech2 = 1.0f / (cosh_out * cosh_out);                                                          \
        const T grad =                                                                                         \
            0.5f * (1.0f + tanh(tanh_arg)) + x * 0.5f * sech2 * GELU_SCALE * (1.0f + 3.0f * 0.044715f * x * x); \
        STORE(grad * LOAD(dout, i), dinp, i);                                                                  \
    }
__kernel void gelu_backward(__global float *dinp, __global const float *inp, __global const float *dout, int n) {
    FOR_VECTOR(n, GELU_BACKWARD);
}
