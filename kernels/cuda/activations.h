// CUDA pointwise activations; same contract as kernels/cpu/activations.h (float).
#pragma once
#include <cstdint>

#include "kernels/common/activations.h"

namespace cg::cuda {
void activation_forward(float* out, const float* inp, int64_t n, common::Activation act, float slope);
void activation_backward(float* dinp, const float* dout, const float* inp, const float* out, int64_t n,
                         common::Activation act, float slope);
}  // namespace cg::cuda
