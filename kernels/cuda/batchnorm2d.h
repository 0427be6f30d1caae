// CUDA BatchNorm2d, our own kernels (no cuDNN): spatial mode, per channel over (N,H,W),
// with an optional LeakyReLU epilogue fused in (slope 1: none, 0: ReLU) forward and
// backward, for f32 or bf16 activations; statistics, gamma, beta and their gradients
// are always f32. Same contract as kernels/cpu/batchnorm2d.h: save_mean / save_invstd
// hold the batch mean and 1/sqrt(biased var + eps) for batch_norm2d_backward. The CPU
// kernels' optional scale and shift (the backward's way around reading the output) are
// not saved here: these take null for them and read the output.
#pragma once
#include <cstdint>

#include "kernels/common/bf16.h"

namespace cg::cuda {
void batch_norm2d_forward_train(float* out, float* save_mean, float* save_invstd, float* running_mean,
                               float* running_var, const float* inp, const float* gamma, const float* beta,
                               int64_t N, int64_t C, int64_t HW, double momentum, double eps, float slope = 1.f,
                               float* save_scale = nullptr, float* save_shift = nullptr);
void batch_norm2d_forward_train(bf16* out, float* save_mean, float* save_invstd, float* running_mean,
                               float* running_var, const bf16* inp, const float* gamma, const float* beta,
                               int64_t N, int64_t C, int64_t HW, double momentum, double eps, float slope = 1.f,
                               float* save_scale = nullptr, float* save_shift = nullptr);
void batch_norm2d_forward_eval(float* out, const float* inp, const float* gamma, const float* beta,
                              const float* running_mean, const float* running_var, int64_t N, int64_t C,
                              int64_t HW, double eps, float slope = 1.f);
void batch_norm2d_forward_eval(bf16* out, const bf16* inp, const float* gamma, const float* beta,
                              const float* running_mean, const float* running_var, int64_t N, int64_t C,
                              int64_t HW, double eps, float slope = 1.f);
void batch_norm2d_eval_stats(float* mean, float* invstd, const float* running_mean, const float* running_var,
                            int64_t C, double eps);
// Adds into whichever of dinp, dgamma, dbeta is non-null; with accumulate false dinp is
// assigned (a fresh buffer: its old contents are never read). eps is unused (invstd
// holds it). With the epilogue (out non-null) dout is taken back through it from out.
void batch_norm2d_backward(float* dinp, float* dgamma, float* dbeta, const float* dout, const float* inp,
                          const float* gamma, const float* mean, const float* invstd, int64_t N, int64_t C,
                          int64_t HW, bool batch_stats, double eps, const float* out = nullptr, float slope = 1.f,
                          bool accumulate = true, const float* scale = nullptr, const float* shift = nullptr);
void batch_norm2d_backward(bf16* dinp, float* dgamma, float* dbeta, const bf16* dout, const bf16* inp,
                          const float* gamma, const float* mean, const float* invstd, int64_t N, int64_t C,
                          int64_t HW, bool batch_stats, double eps, const bf16* out = nullptr, float slope = 1.f,
                          bool accumulate = true, const float* scale = nullptr, const float* shift = nullptr);
}  // namespace cg::cuda
