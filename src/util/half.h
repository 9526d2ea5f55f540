// 16-bit floats as stored in model files: bfloat16 (the top half of an fp32)
// and IEEE half (f16). Conversions to fp32 are exact; from fp32 they round to
// nearest, ties to even, as PyTorch's .to(torch.bfloat16 / torch.float16) does.
#pragma once
#include <stdint.h>

float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);  // NaN stays a (quiet) NaN; overflow rounds to +-Inf
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);  // overflow to +-Inf, underflow through subnormals to +-0
