// CPU BatchNorm2d over (N,C,HW) per channel, templated on float and double: training
// forward (batch statistics, running-stat update), eval forward, and the backward for
// both modes, each with an optional LeakyReLU epilogue (slope 1: none, 0: ReLU) fused in,
// so BN + activation is one pass forward and one backward. Same contract as
// kernels/cuda/batchnorm2d.h.
#pragma once
#include <cstdint>

namespace cg::cpu {

// out (N,C,HW) = act(gamma (C) * (inp - mean) * invstd + beta (C)), mean and biased
// variance over (N,HW), act = LeakyReLU(slope) (slope 1: the identity, 0: ReLU). Writes
// save_mean, save_invstd (C) for the backward, and where given save_scale, save_shift (C):
// the T values out was made with, act(inp * scale + shift), which let the backward take
// the activation's sign from inp instead of reading out. When running_mean and running_var
// (C) are non-null: r = (1-momentum) r + momentum * {mean, unbiased var}.
template <class T>
void batch_norm2d_forward_train(T* out, T* save_mean, T* save_invstd, T* running_mean, T* running_var,
                               const T* inp, const T* gamma, const T* beta, int64_t N, int64_t C, int64_t HW,
                               double momentum, double eps, T slope = T(1), T* save_scale = nullptr,
                               T* save_shift = nullptr);

// out (N,C,HW) = act(gamma * (inp - running_mean) / sqrt(running_var + eps) + beta).
template <class T>
void batch_norm2d_forward_eval(T* out, const T* inp, const T* gamma, const T* beta, const T* running_mean,
                              const T* running_var, int64_t N, int64_t C, int64_t HW, double eps,
                              T slope = T(1));

// mean = running_mean, invstd = 1/sqrt(running_var + eps) (C): what the eval backward needs.
template <class T>
void batch_norm2d_eval_stats(T* mean, T* invstd, const T* running_mean, const T* running_var, int64_t C,
                            double eps);

// Accumulates (+=) into whichever of dinp (N,C,HW), dgamma, dbeta (C) is non-null; with
// accumulate false dinp is assigned instead (a fresh buffer), dgamma and dbeta still added to.
// batch_stats: the forward normalised with the batch's own statistics (training), so
// dinp carries the terms through mean and variance; otherwise mean/invstd were constants.
// eps is unused here (invstd holds it) but keeps the argument list of the CUDA launcher.
// With an epilogue (out, the forward's output, non-null), dout is the gradient of the
// activation's output and is first taken through it from out (leaky_relu_bwd_from_out);
// with the forward's save_scale and save_shift given too, by the sign of inp * scale +
// shift instead (the same sign, the same bits), and out is not read.
template <class T>
void batch_norm2d_backward(T* dinp, T* dgamma, T* dbeta, const T* dout, const T* inp, const T* gamma,
                          const T* mean, const T* invstd, int64_t N, int64_t C, int64_t HW, bool batch_stats,
                          double eps, const T* out = nullptr, T slope = T(1), bool accumulate = true,
                          const T* scale = nullptr, const T* shift = nullptr);

}  // namespace cg::cpu
