// The per-channel arithmetic of BatchNorm, shared by the CPU loops and the CUDA kernels:
// forward coefficients (y = act(x * scale + shift)), the running-statistics update, and
// the input gradient from the per-channel gradient sums. Statistics in double; the
// pointwise parts in the storage type's arithmetic (T: float or double).
#pragma once
#include <math.h>

#include "kernels/common/activations.h"
#include "kernels/common/hd.h"

namespace cg::common {

// From a channel's mean and biased variance: invstd, and y = x * scale + shift.
struct BnForward {
  double invstd, scale, shift;
};
CG_HD BnForward bn_forward_coeffs(double mean, double var, double gamma, double beta, double eps) {
  const double invstd = 1.0 / ::sqrt(var + eps);
  const double scale = gamma * invstd;
  return {invstd, scale, beta - mean * scale};
}

// running = (1 - momentum) running + momentum batch, with the batch's unbiased variance.
CG_HD double bn_running(double running, double batch, double momentum) {
  return (1 - momentum) * running + momentum * batch;
}

// The gradient through one channel, from sum_g = sum(g) and sum_gx = sum(g * x) over its m
// values (g: the gradient at the normalised value). dgamma = sum(g * xhat), dbeta = sum_g;
// dx = k * (g - mdy - (x - mean) * invstd * mdyx), where the batch-statistics terms mdy
// and mdyx are zero in eval mode (the statistics were constants).
struct BnBackward {
  double dgamma, dbeta, k, mdy, mdyx;
};
CG_HD BnBackward bn_backward_coeffs(double sum_g, double sum_gx, double mean, double invstd, double gamma, double m,
                                   bool batch_stats) {
  const double sum_g_xhat = invstd * (sum_gx - mean * sum_g);
  return {sum_g_xhat, sum_g, gamma * invstd, batch_stats ? sum_g / m : 0.0, batch_stats ? sum_g_xhat / m : 0.0};
}

template <class T>
CG_HD T bn_dx(T g, T x, T mean, T invstd, T k, T mdy, T mdyx) {
  return k * (g - mdy - (x - mean) * invstd * mdyx);
}

// The forward's value and the gradient at the normalised value, through the LeakyReLU
// epilogue (slope 1: none, 0: ReLU), read from the output y as leaky_relu_bwd_from_out.
template <class T>
CG_HD T bn_act_fwd(T x, T scale, T shift, T slope) {
  return leaky_relu_fwd(x * scale + shift, slope);
}
template <class T>
CG_HD T bn_act_grad(T y, T dy, T slope) {
  return leaky_relu_bwd_from_out(y, dy, slope);
}

}  // namespace cg::common
