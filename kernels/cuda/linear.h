// CUDA fully connected layer on cuBLAS; same contract as kernels/cpu/linear.h (float).
#pragma once
#include <cstdint>

namespace cg::cuda {
void linear_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t B, int64_t C,
                    int64_t OC);
void linear_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int64_t B, int64_t C, int64_t OC);
}  // namespace cg::cuda
