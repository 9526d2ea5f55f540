// GELU, tanh approximation (as GPT-2). Elementwise: VW elements per work-item (FOR_VECTOR).
#define GELU_SCALE 0.7978845608028654f  // sqrt(2/pi)
#define GELU(x) (0.5f * (x) * (1.0f + tanh(GELU_SCALE * ((x) + 0.044715f * (x) * (x) * (x)))))

#define GELU_FORWARD(T, LOAD, STORE, i)  \
    {                                    \
        const T x = LOAD(inp, i);        \
        STORE(GELU(x), out, i);          \
    }
__kernel void gelu_forward(__global float *out, __global const float *inp, int n) { FOR_VECTOR(n, GELU_FORWARD); }

// pre (N, OC) += bias; out = gelu(pre): the fc layer's bias add and its GELU in
// one pass (GELU_FUSED). VW elements per work-item as FOR_VECTOR; the bias is
// read as a vector too where OC is a multiple of VW (a span then never crosses
// a row's end), else element by element.
#define BIAS_GELU(T, LOAD, STORE, i)                     \
    {                                                    \
        const T x = LOAD(pre, i) + LOAD(bias, (i) % OC); \
        STORE(x, pre, i);                                \
        STORE(GELU(x), out, i);                          \
    }
__kernel void bias_gelu_forward(__global float *out, __global float *pre, __global const float *bias, int n, int OC) {
    const size_t first = get_global_id(0) * VW;
    if (first + VW <= (size_t)n && OC % VW == 0) {
        BIAS_GELU(floatVW, LOADVW, STOREVW, first)
    } else {
        for (size_t e = first; e < min(first + VW, (size_t)n); e++) { BIAS_GELU(float, LOAD1, STORE1, e) }
    }
}

// grad = gelu'(x), declared as a T.
// sech^2 from cosh, not 1 - tanh^2: for large |x| tanh may round to just below 1 and
// 1 - tanh^2 times the x^3 term explodes, while 1/cosh^2 goes cleanly to 0.
#define GELU_GRAD(T, x, grad)                                                                           \
    const T tanh_arg_ = GELU_SCALE * ((x) + 0.044715f * (x) * (x) * (x));                              \
    const T cosh_out_ = cosh(tanh_arg_);                                                                \
    const T sech2_ = 1.0f / (cosh_out_ * cosh_out_);                                                    \
    const T grad = 0.5f * (1.0f + tanh(tanh_arg_)) +                                                    \
                   (x) * 0.5f * sech2_ * GELU_SCALE * (1.0f + 3.0f * 0.044715f * (x) * (x));

// dinp = gelu'(inp) * dout; dinp may alias dout.
#define GELU_BACKWARD(T, LOAD, STORE, i)       \
    {                                          \
        const T x = LOAD(inp, i);              \
        GELU_GRAD(T, x, grad)                  \
        STORE(grad * LOAD(dout, i), dinp, i);  \
    }
__kernel void gelu_backward(__global float *dinp, __global const float *inp, __global const float *dout, int n) {
    FOR_VECTOR(n, GELU_BACKWARD);
}

// gelu_backward over (N, OC), fused with the column sums of its result, the fc
// bias gradient (GELU_BWD_FUSED): a column kernel as column_sum (columns.cl), so
// add = 1 adds into out = dbias, add = 0 writes chunk k's sums to out[k*OC + c].
// dinp may alias dout.
#define GELU_BACKWARD_BIAS(T, LOAD, STORE, c)                     \
    {                                                             \
        T acc = 0.0f;                                             \
        for (int n = first; n < end; n++) {                       \
            const size_t i = (size_t)n * OC + c;                  \
            const T x = LOAD(inp, i);                             \
            GELU_GRAD(T, x, grad)                                 \
            const T d = grad * LOAD(dout, i);                     \
            STORE(d, dinp, i);                                    \
            acc += d;                                             \
        }                                                         \
        __global float *o_ = out + (size_t)get_global_id(1) * OC; \
        STORE(add ? LOAD(o_, c) + acc : acc, o_, c);              \
    }
__kernel void gelu_backward_bias(__global float *dinp, __global float *out, __global const float *inp,
                                 __global const float *dout, int N, int OC, int rows, int add) {
    CHUNK_ROWS(first, end, N, rows);
    FOR_COLUMNS(OC, GELU_BACKWARD_BIAS);
}
