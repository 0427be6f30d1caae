// CUDA 2-D transposed convolution on cuDNN, f32 or bf16 (as kernels/cuda/conv2d.h); same
// contract as kernels/cpu/conv_transpose2d.h.
#pragma once
#include <cstdint>

#include "kernels/common/bf16.h"

namespace cg::cuda {
void conv_transpose2d_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t N,
                              int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad);
void conv_transpose2d_forward(bf16* out, const bf16* inp, const bf16* weight, const float* bias, int64_t N, int64_t C,
                              int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad);
void conv_transpose2d_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                               const float* weight, int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC,
                               int64_t K, int64_t stride, int64_t pad, bool accumulate = true);
void conv_transpose2d_backward(bf16* dinp, float* dweight, float* dbias, const bf16* dout, const bf16* inp,
                               const bf16* weight, int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K,
                               int64_t stride, int64_t pad, bool accumulate = true);
}  // namespace cg::cuda
