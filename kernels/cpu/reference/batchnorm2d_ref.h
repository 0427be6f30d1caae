// Reference BatchNorm2d over (N,C,HW) per channel written as direct loops, for reading and
// for testing kernels/cpu/batchnorm2d.cpp against: training forward with batch statistics
// and its backward, the running-statistics update, eval forward and its backward.
#pragma once
#include <cstdint>

namespace cg::cpu::ref {

// out (N,C,HW) = gamma (C) * (inp - mean) / sqrt(var + eps) + beta (C), with the batch's own
// statistics over (N,HW): writes mean (C) and the biased variance var (C).
template <class T>
void batch_norm2d_forward_train(T* out, T* mean, T* var, const T* inp, const T* gamma, const T* beta, int64_t N,
                               int64_t C, int64_t HW, double eps);

// PyTorch's running statistics after one training step over M = N*HW values per channel:
// running_mean (C) = (1-momentum) running_mean + momentum * mean,
// running_var (C)  = (1-momentum) running_var + momentum * var * M/(M-1) (unbiased).
template <class T>
void batch_norm2d_update_running(T* running_mean, T* running_var, const T* mean, const T* var, int64_t C, int64_t M,
                                double momentum);

// out (N,C,HW) = gamma * (inp - running_mean) / sqrt(running_var + eps) + beta.
template <class T>
void batch_norm2d_forward_eval(T* out, const T* inp, const T* gamma, const T* beta, const T* running_mean,
                              const T* running_var, int64_t N, int64_t C, int64_t HW, double eps);

// Backward of forward_train: accumulates (+=) into whichever of dinp (N,C,HW), dgamma,
// dbeta (C) is non-null, given dout (N,C,HW) and the forward's mean and var (C). dinp
// carries the terms through the batch mean and variance.
template <class T>
void batch_norm2d_backward_train(T* dinp, T* dgamma, T* dbeta, const T* dout, const T* inp, const T* gamma,
                                const T* mean, const T* var, int64_t N, int64_t C, int64_t HW, double eps);

// Backward of forward_eval: the statistics are constants, so dinp = gamma * dout / sqrt(var + eps).
template <class T>
void batch_norm2d_backward_eval(T* dinp, T* dgamma, T* dbeta, const T* dout, const T* inp, const T* gamma,
                               const T* running_mean, const T* running_var, int64_t N, int64_t C, int64_t HW,
                               double eps);

}  // namespace cg::cpu::ref
