// CUDA spectral loss; same contract as kernels/cpu/spectral.h (float), for S up to 360. A
// label outside [0, K) cannot be reported without a sync: it makes the loss and the
// gradient NaN instead.
#pragma once
#include <cstdint>

namespace cg::cuda {
void spectral_rings_forward(float* re, float* im, float* ring, const float* x, int64_t N, int C, int S);
void spectral_loss_forward(float* loss, float* genre_power, const float* ring, const int32_t* labels,
                           const float* target, int64_t N, int K, int R, int r0, float eps);
void spectral_loss_backward(float* dx, const float* dloss, const float* re, const float* im,
                            const float* genre_power, const int32_t* labels, const float* target, int64_t N, int C,
                            int S, int K, int r0, float eps, bool accumulate);
}  // namespace cg::cuda
