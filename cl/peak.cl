// The device's FP32 peak, for model FLOP utilisation (MFU): independent chains
// of fused multiply-adds on registers, no memory traffic but one store per
// work-item. Built alone (src/runtime/peak.c) with PEAK_VW = a vector width that fills
// the device's SIMD lanes (explicit vectors on CPUs, where POCL does not
// vectorize across work-items through a loop).
#ifndef PEAK_VW
#define PEAK_VW 4
#endif
#define PCAT_(a, b) a##b
#define PCAT(a, b) PCAT_(a, b)
#define floatP PCAT(float, PEAK_VW)

// Eight chains hide the FMA latency (4-6 cycles) on two pipes per core or SM quadrant.
__kernel void fma_peak(__global float *out, int iters, float a, float b) {
    const float s = (float)get_global_id(0) * 1e-9f;
    floatP x0 = (floatP)(s), x1 = x0 + 1.0f, x2 = x0 + 2.0f, x3 = x0 + 3.0f, x4 = x0 + 4.0f, x5 = x0 + 5.0f,
           x6 = x0 + 6.0f, x7 = x0 + 7.0f;
    for (int i = 0; i < iters; i++) {
        x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b);
        x4 = fma(x4, a, b); x5 = fma(x5, a, b); x6 = fma(x6, a, b); x7 = fma(x7, a, b);
    }
    floatP t = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7));
    float r = 0.0f;
    for (int j = 0; j < PEAK_VW; j++) r += ((float *)&t)[j];
    out[get_global_id(0)] = r;
}
