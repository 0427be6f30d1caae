// Synchronised BatchNorm2d (--sync-bn) on the CPU, in phases so that the per-channel
// sums can be all-reduced across ranks between them (layers/batchnorm2d_sync.cpp does):
// forward sums, squared deviations from the global mean, normalisation; backward sums,
// then the gradients. Templated on float and double; the same contract as
// kernels/cuda/batchnorm2d_sync.h. Over one rank they give batchnorm2d.h's bits exactly.
#pragma once
#include <cstdint>

namespace cg::cpu {

// sum (C+1) = this rank's sum of x (N,C,HW) per channel, in double, then its count of
// values per channel (N*HW): summed across ranks, sum[C] is the global count M, which
// the later phases read from there (on the GPU without a copy to the host).
template <class T>
void batch_norm2d_sync_sums(double* sum, const T* x, int64_t N, int64_t C, int64_t HW);

// sq (C) = this rank's sum of (x - mean)^2 per channel, mean = T(sum[c] / M) from the
// global sums (C+1, M last).
template <class T>
void batch_norm2d_sync_sq_dev(double* sq, const T* x, const double* sum, int64_t N, int64_t C, int64_t HW);

// out (N,C,HW) = act(gamma * (x - mean) * invstd + beta) with the global statistics
// (sum (C+1, M last), sq (C); biased variance), act = LeakyReLU(slope) (1: none). Writes
// save_mean / save_invstd (C); updates running_mean / running_var when non-null (the
// unbiased variance over M values), as batch_norm2d_forward_train.
template <class T>
void batch_norm2d_sync_apply(T* out, T* save_mean, T* save_invstd, T* running_mean, T* running_var, const T* x,
                             const T* gamma, const T* beta, const double* sum, const double* sq, int64_t N,
                             int64_t C, int64_t HW, double momentum, double eps, T slope = T(1));

// sums (2C) = this rank's sum of g and of g * x per channel (g: dout, or dout taken back
// through the epilogue from out when out is non-null).
template <class T>
void batch_norm2d_sync_grad_sums(double* sums, const T* dout, const T* x, const T* out, T slope, int64_t N,
                                 int64_t C, int64_t HW);

// dgamma, dbeta (C) += this rank's share (from local, 2C); dinp (N,C,HW) += (or, with
// accumulate false, =) the input gradient, whose mean terms come from the global sums
// (global, 2C) over *count values (the forward's M). Any output pointer may be null.
template <class T>
void batch_norm2d_sync_backward(T* dinp, T* dgamma, T* dbeta, const T* dout, const T* x, const T* gamma,
                                const T* mean, const T* invstd, const double* local, const double* global,
                                const double* count, int64_t N, int64_t C, int64_t HW, const T* out = nullptr,
                                T slope = T(1), bool accumulate = true);

}  // namespace cg::cpu
