// GELU, tanh approximation (as GPT-2).
#define GELU_SCALE 0.7978845608028654f  // sqrt(2/pi)

__kernel void gelu_forward(__global float *out, __global const float *inp, int n) {
    const int i = get_global_id(0);
    if (i >= n) return;
    float x = inp[i];
    float cube = 0.044715f * x * x * x;
    out[i] = 0.5f * x * (1.0f + tanh(GELU_SCALE * (x + cube)));
}

// dinp = gelu'(inp) * dout; dinp may alias dout.
__kernel void gelu_backward(__global float *dinp, __global const float *inp, __global const float *dout, int n) {
    const int i = get_global_id(0);
    if (i >= n) return;
    float x = inp[i];
    float cube = 0.044715f * x * x * x;
    float tanh_arg = GELU_SCALE * (x + cube);
    float tanh_out = tanh(tanh_arg);
    // sech^2 from cosh, not 1 - tanh^2: for large |x| tanh may round to just below 1 and
    // 1 - tanh^2 times the x^3 term explodes, while 1/cosh^2 goes cleanly to 0.
    float cosh_out = cosh(tanh_arg);
    float sech2 = 1.0f / (cosh_out * cosh_out);
    float grad = 0.5f * (1.0f + tanh_out) + x * 0.5f * sech2 * GELU_SCALE * (1.0f + 3.0f * 0.044715f * x * x);
    dinp[i] = grad * dout[i];
}
