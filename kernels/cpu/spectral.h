// CPU spectral loss (templated on float and double): each image's 2-D DFT and ring powers,
// the loss between each genre's mean ring power and a target, and its gradient. The DFT is
// two real matrix products per axis (cosine and sine tables), O(S^3) per plane; ring
// membership is kernels/common/spectral.h. Same contract as kernels/cuda/spectral.h.
#pragma once
#include <cstdint>

namespace cg::cpu {

// x (N,C,S,S) -> re, im (N,C,S,S): X(ky,kx) = sum_{y,x} x(y,x) e^{-2 pi i (ky y + kx x) / S};
// ring (N,R), R = spectral_rings(S): the mean over ring r's bins of sum_c |X_c|^2 / (C S^2).
template <class T>
void spectral_rings_forward(T* re, T* im, T* ring, const T* x, int64_t N, int C, int S);

// genre_power (K,R): the mean of ring (N,R) over the images of each genre (0 for a genre with
// none); loss[0] = the mean over the genres present and the rings r0 .. R-1 of
// (ln(genre_power + eps) - target)^2, target (K,R). Throws when a label is outside [0, K).
template <class T>
void spectral_loss_forward(T* loss, T* genre_power, const T* ring, const int32_t* labels, const T* target,
                           int64_t N, int K, int R, int r0, T eps);

// dx (N,C,S,S) = (or += when accumulate) dloss[0] * d loss / d x, from the forward's re, im and
// genre_power.
template <class T>
void spectral_loss_backward(T* dx, const T* dloss, const T* re, const T* im, const T* genre_power,
                            const int32_t* labels, const T* target, int64_t N, int C, int S, int K, int r0, T eps,
                            bool accumulate);

}  // namespace cg::cpu
