// CUDA 2-D convolution on cuDNN; same contract as kernels/cpu/conv2d.h (float).
#pragma once
#include <cstdint>

namespace cg::cuda {
void conv2d_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t N, int64_t C,
                    int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad);
void conv2d_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K,
                     int64_t stride, int64_t pad);
}  // namespace cg::cuda
