// CUDA losses; same contract as kernels/cpu/losses.h (float). The loss value is
// written to device memory (loss[0]) and the backward reads dloss[0] there, so
// nothing waits on the host. A cross-entropy label outside [0,K) cannot be
// reported without a sync: it makes that row's loss and gradient NaN instead.
#pragma once
#include <cstdint>

namespace cg::cuda {
void bce_with_logits_forward(float* loss, const float* z, const float* t, int64_t n);
void bce_with_logits_backward(float* dz, const float* dloss, const float* z, const float* t, int64_t n);
void cross_entropy_forward(float* loss, float* lse, const float* z, const int32_t* labels, int64_t N, int64_t K);
void cross_entropy_backward(float* dz, const float* dloss, const float* z, const float* lse,
                            const int32_t* labels, int64_t N, int64_t K);
void mse_forward(float* loss, const float* p, const float* t, int64_t n);
void mse_backward(float* dp, const float* dloss, const float* p, const float* t, int64_t n);
}  // namespace cg::cuda
