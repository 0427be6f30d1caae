// CUDA Adam over flat float buffers: one grid-stride kernel; same contract as
// kernels/cpu/adam.h.
#pragma once
#include <cstdint>

#include "kernels/common/adam.h"

namespace cg::cuda {
// param, m, v updated in place from grad  // all (n)
void adam_step(float* param, float* m, float* v, const float* grad, int64_t n, const common::AdamScalars<float>& s);
}  // namespace cg::cuda
