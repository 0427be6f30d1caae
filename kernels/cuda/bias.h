// CUDA per-channel bias of the convolutions, our kernels rather than cuDNN's AddTensor /
// BackwardBias so one code serves f32 and bf16 outputs with an f32 bias: y (N,C,HW) +=
// bias (C) in one pass, and dbias (C) += the sum of dy over (N,HW) (one block a channel,
// double sums in a fixed order: deterministic).
#pragma once
#include <cstdint>

#include "kernels/common/bf16.h"

namespace cg::cuda {
void add_channel_bias(float* y, const float* bias, int64_t N, int64_t C, int64_t HW);
void add_channel_bias(bf16* y, const float* bias, int64_t N, int64_t C, int64_t HW);
void channel_bias_grad(float* dbias, const float* dy, int64_t N, int64_t C, int64_t HW);
void channel_bias_grad(float* dbias, const bf16* dy, int64_t N, int64_t C, int64_t HW);
}  // namespace cg::cuda
