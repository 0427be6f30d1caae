// CUDA conversions between f32 and bf16 (kernels/common/bf16.h: round to nearest even):
// the cast op of bf16 mixed precision, and the widening of a bf16 weight gradient into
// its FP32 master gradient. Same contract as kernels/cpu/cast.h.
#pragma once
#include <cstdint>

#include "kernels/common/bf16.h"

namespace cg::cuda {
void cast(bf16* out, const float* in, int64_t n, bool accumulate = false);  // accumulate: out = bf16(out + in)
void cast(float* out, const bf16* in, int64_t n, bool accumulate = false);  // accumulate: out += in
}  // namespace cg::cuda
