// CPU losses, templated on float and double: each forward writes the mean over the
// batch to loss[0]; each backward scales by the upstream gradient dloss[0] and
// accumulates (+=). Scalar math in kernels/common/losses.h; same contract as kernels/cuda/losses.h.
#pragma once
#include <cstdint>

namespace cg::cpu {

// loss[0] = mean_i softplus(z_i) - t_i z_i over n elements.
template <class T>
void bce_with_logits_forward(T* loss, const T* z, const T* t, int64_t n);
// dz (n) += dloss[0] * (sigmoid(z) - t) / n.
template <class T>
void bce_with_logits_backward(T* dz, const T* dloss, const T* z, const T* t, int64_t n);

// loss[0] = mean_i lse_i - z[i, label_i] over logits z (N,K); writes lse (N) for the backward.
// Throws when a label is outside [0, K).
template <class T>
void cross_entropy_forward(T* loss, T* lse, const T* z, const int32_t* labels, int64_t N, int64_t K);
// dz (N,K) += dloss[0] * (softmax(z) - onehot(label)) / N.
template <class T>
void cross_entropy_backward(T* dz, const T* dloss, const T* z, const T* lse, const int32_t* labels, int64_t N,
                            int64_t K);

// loss[0] = mean_i (p_i - t_i)^2 over n elements.
template <class T>
void mse_forward(T* loss, const T* p, const T* t, int64_t n);
// dp (n) += dloss[0] * 2 (p - t) / n.
template <class T>
void mse_backward(T* dp, const T* dloss, const T* p, const T* t, int64_t n);

}  // namespace cg::cpu
