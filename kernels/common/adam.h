// The per-element Adam update, shared by the CPU loop and the CUDA kernel. It
// follows torch.optim.Adam's single-tensor path operation by operation (lerp for
// the first moment, sqrt(v)/sqrt(bc2) + eps, addcdiv), so results match PyTorch to
// rounding; the bias corrections are computed once per step on the host in double.
#pragma once
#include <math.h>

#include "kernels/common/hd.h"

namespace cg::common {

// Per-step scalars: step_size = lr / (1 - beta1^t), bc2_sqrt = sqrt(1 - beta2^t).
template <class T>
struct AdamScalars {
  T beta1, beta2, one_minus_beta1, one_minus_beta2, step_size, bc2_sqrt, eps;
};

// The settings and the step count give the scalars: in double, on the host for the CPU
// and on the device for CUDA (a captured graph keeps its step count in device memory).
struct AdamHyper {
  double lr, beta1, beta2, eps;
};
template <class T>
CG_HD AdamScalars<T> adam_scalars(const AdamHyper& h, int64_t t) {
  const double bc1 = 1.0 - ::pow(h.beta1, static_cast<double>(t));
  const double bc2 = 1.0 - ::pow(h.beta2, static_cast<double>(t));
  return {static_cast<T>(h.beta1),       static_cast<T>(h.beta2),     static_cast<T>(1.0 - h.beta1),
          static_cast<T>(1.0 - h.beta2), static_cast<T>(h.lr / bc1), static_cast<T>(::sqrt(bc2)),
          static_cast<T>(h.eps)};
}

CG_HD float adam_sqrt(float x) { return ::sqrtf(x); }
CG_HD double adam_sqrt(double x) { return ::sqrt(x); }

// torch's lerp(m, g, w): the form chosen by |w| < 0.5 keeps it exact at both ends.
template <class T>
CG_HD T adam_lerp(T m, T g, T w) {
  return (w < T(0.5) && w > T(-0.5)) ? m + w * (g - m) : g - (g - m) * (T(1) - w);
}

// m = lerp(m, g, 1-b1); v = v*b2 + (1-b2)*g*g; p -= step_size * m / (sqrt(v)/bc2_sqrt + eps).
// Mathematically p -= lr * mhat / (sqrt(vhat) + eps) with mhat = m/(1-b1^t), vhat = v/(1-b2^t).
template <class T>
CG_HD void adam_update(T& p, T& m, T& v, T g, const AdamScalars<T>& s) {
  m = adam_lerp(m, g, s.one_minus_beta1);
  v = v * s.beta2 + (s.one_minus_beta2 * g) * g;
  const T denom = adam_sqrt(v) / s.bc2_sqrt + s.eps;
  p = p - s.step_size * (m / denom);
}

}  // namespace cg::common
