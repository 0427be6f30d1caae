// CUDA 2-D convolution on cuDNN, f32 or bf16 activations and weights (bias and weight
// gradient always f32: a bf16 weight gradient is widened into the FP32 master one);
// same contract as kernels/cpu/conv2d.h: dweight and dbias accumulate, dinp too unless
// accumulate is false (then it is assigned: cuDNN's beta 0 never reads the old contents).
#pragma once
#include <cstdint>

#include "kernels/common/bf16.h"

namespace cg::cuda {
void conv2d_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t N, int64_t C,
                    int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad);
void conv2d_forward(bf16* out, const bf16* inp, const bf16* weight, const float* bias, int64_t N, int64_t C,
                    int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad);
// out = leaky_relu(conv2d_forward(...), slope): conv2d_leaky_relu's forward.
void conv2d_leaky_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t N, int64_t C,
                          int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad, float slope);
void conv2d_leaky_forward(bf16* out, const bf16* inp, const bf16* weight, const float* bias, int64_t N, int64_t C,
                          int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad, float slope);
void conv2d_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K,
                     int64_t stride, int64_t pad, bool accumulate = true);
void conv2d_backward(bf16* dinp, float* dweight, float* dbias, const bf16* dout, const bf16* inp, const bf16* weight,
                     int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad,
                     bool accumulate = true);
}  // namespace cg::cuda
