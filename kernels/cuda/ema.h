// CUDA exponential moving average over a flat float buffer: one grid-stride kernel;
// same contract as kernels/cpu/ema.h.
#pragma once
#include <cstdint>

namespace cg::cuda {
// avg (n) += one_minus_decay * (w (n) - avg)
void ema_update(float* avg, const float* w, int64_t n, float one_minus_decay);
}  // namespace cg::cuda
