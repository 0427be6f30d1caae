// CUDA dropout; same contract as kernels/cpu/dropout.h (float), same masks bit for bit.
#pragma once
#include <cstdint>

namespace cg::cuda {
void dropout_forward(float* out, uint8_t* mask, const float* x, int64_t n, uint64_t seed, uint64_t offset,
                     uint32_t threshold, float scale);
// accumulate: dx += (a gradient buffer that already holds a sum); otherwise dx = (its first writer).
void dropout_backward(float* dx, const float* dout, const uint8_t* mask, int64_t n, float scale,
                      bool accumulate = true);
}  // namespace cg::cuda
