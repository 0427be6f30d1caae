// CUDA synchronised BatchNorm2d (--sync-bn): the phases of kernels/cpu/batchnorm2d_sync.h
// in float, with the per-channel sums in double on the device, so that NCCL can sum
// them across ranks between the phases on the same stream. Same contract as the CPU file.
#pragma once
#include <cstdint>

namespace cg::cuda {
void batch_norm2d_sync_sums(double* sum, const float* x, int64_t N, int64_t C, int64_t HW);
void batch_norm2d_sync_sq_dev(double* sq, const float* x, const double* sum, int64_t N, int64_t C, int64_t HW);
void batch_norm2d_sync_apply(float* out, float* save_mean, float* save_invstd, float* running_mean,
                             float* running_var, const float* x, const float* gamma, const float* beta,
                             const double* sum, const double* sq, int64_t N, int64_t C, int64_t HW,
                             double momentum, double eps, float slope = 1.f);
void batch_norm2d_sync_grad_sums(double* sums, const float* dout, const float* x, const float* out, float slope,
                                 int64_t N, int64_t C, int64_t HW);
// Accumulates (+=) into whichever of dgamma, dbeta is non-null, and into dinp (or, with
// accumulate false, assigns it: its first writer).
void batch_norm2d_sync_backward(float* dinp, float* dgamma, float* dbeta, const float* dout, const float* x,
                                const float* gamma, const float* mean, const float* invstd, const double* local,
                                const double* global, const double* count, int64_t N, int64_t C, int64_t HW,
                                const float* out = nullptr, float slope = 1.f, bool accumulate = true);
}  // namespace cg::cuda
