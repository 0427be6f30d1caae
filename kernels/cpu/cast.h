// CPU conversions between f32 and bf16 (kernels/common/bf16.h: round to nearest even),
// so bf16 tensors can be made, read and checked on the host; the math of bf16 mixed
// precision runs on CUDA. Same contract as kernels/cuda/cast.h.
#pragma once
#include <cstdint>

#include "kernels/common/bf16.h"

namespace cg::cpu {
void cast(bf16* out, const float* in, int64_t n, bool accumulate = false);  // accumulate: out = bf16(out + in)
void cast(float* out, const bf16* in, int64_t n, bool accumulate = false);  // accumulate: out += in
}  // namespace cg::cpu
