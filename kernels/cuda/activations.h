// CUDA pointwise activations, on f32 or bf16 tensors (the math in float); same contract
// as kernels/cpu/activations.h: backward adds into dinp, or assigns with accumulate false.
#pragma once
#include <cstdint>

#include "kernels/common/activations.h"
#include "kernels/common/bf16.h"

namespace cg::cuda {
void activation_forward(float* out, const float* inp, int64_t n, common::Activation act, float slope);
void activation_forward(bf16* out, const bf16* inp, int64_t n, common::Activation act, float slope);
void activation_backward(float* dinp, const float* dout, const float* inp, const float* out, int64_t n,
                         common::Activation act, float slope, bool accumulate = true);
void activation_backward(bf16* dinp, const bf16* dout, const bf16* inp, const bf16* out, int64_t n,
                         common::Activation act, float slope, bool accumulate = true);
}  // namespace cg::cuda
