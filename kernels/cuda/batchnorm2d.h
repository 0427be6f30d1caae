// CUDA BatchNorm2d on cuDNN (spatial mode, per channel over N,H,W); same contract
// as kernels/cpu/batchnorm2d.h (float). save_mean / save_invstd hold cuDNN's own
// saved statistics (mean and 1/sqrt(biased var + eps)) for batch_norm2d_backward.
// slope != 1 adds the LeakyReLU epilogue (0: ReLU): applied in place after cuDNN's
// forward, and taken back from the output into scratch before cuDNN's backward.
#pragma once
#include <cstdint>

namespace cg::cuda {
void batch_norm2d_forward_train(float* out, float* save_mean, float* save_invstd, float* running_mean,
                               float* running_var, const float* inp, const float* gamma, const float* beta,
                               int64_t N, int64_t C, int64_t HW, double momentum, double eps, float slope = 1.f);
void batch_norm2d_forward_eval(float* out, const float* inp, const float* gamma, const float* beta,
                              const float* running_mean, const float* running_var, int64_t N, int64_t C,
                              int64_t HW, double eps, float slope = 1.f);
void batch_norm2d_eval_stats(float* mean, float* invstd, const float* running_mean, const float* running_var,
                            int64_t C, double eps);
// Accumulates (+=) into whichever of dinp, dgamma, dbeta is non-null. eps must be the forward's.
void batch_norm2d_backward(float* dinp, float* dgamma, float* dbeta, const float* dout, const float* inp,
                          const float* gamma, const float* mean, const float* invstd, int64_t N, int64_t C,
                          int64_t HW, bool batch_stats, double eps, const float* out = nullptr,
                          float slope = 1.f);
}  // namespace cg::cuda
