#include "util/half.h"

#include <string.h>

static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float float_of(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float bf16_to_f32(uint16_t h) { return float_of((uint32_t)h << 16); }

uint16_t f32_to_bf16(float f) {
    uint32_t u = bits_of(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);  // NaN: keep it a NaN
    u += 0x7fffu + ((u >> 16) & 1);  // round to nearest, ties to even
    return (uint16_t)(u >> 16);
}

float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0x1f) return float_of(sign | 0x7f800000u | man << 13);  // Inf, NaN
    if (exp == 0) {  // zero or subnormal: man * 2^-24
        float v = (float)man * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    return float_of(sign | (exp + 112) << 23 | man << 13);
}

uint16_t f32_to_f16(float f) {
    uint32_t u = bits_of(f), sign = (u >> 16) & 0x8000, a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00);  // NaN
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);  // rounds to 65520 or more: Inf
    if (a < 0x38800000u) {  // below 2^-14: subnormal half (or zero), man = round(|f| * 2^24)
        uint32_t shift = 126 - (a >> 23), m = (a & 0x7fffffu) | 0x800000u;
        if (a < 0x33000000u) return (uint16_t)sign;  // below half the smallest subnormal
        uint32_t half_bit = 1u << (shift - 1), rest = m & ((half_bit << 1) - 1);
        uint32_t r = m >> shift;
        if (rest > half_bit || (rest == half_bit && (r & 1))) r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = a - 0x38000000u;  // rebias the exponent (127 -> 15)
    r += 0xfffu + ((r >> 13) & 1);
    return (uint16_t)(sign | (r >> 13));
}
