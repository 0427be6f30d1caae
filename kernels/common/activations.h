// Scalar math of the pointwise activations, shared by the CPU loops and the CUDA
// kernels: forward values and derivatives, plus the numerically stable sigmoid
// and softplus that the losses build on. Float and double overloads throughout.
#pragma once
#include <math.h>

#include "kernels/common/hd.h"

namespace cg::common {

// Type-overloaded libm calls: expf/exp etc. exist both on the host and in device code,
// where std:: overloads are not guaranteed.
CG_HD float cg_exp(float x) { return ::expf(x); }
CG_HD double cg_exp(double x) { return ::exp(x); }
CG_HD float cg_log(float x) { return ::logf(x); }
CG_HD double cg_log(double x) { return ::log(x); }
CG_HD float cg_log1p(float x) { return ::log1pf(x); }
CG_HD double cg_log1p(double x) { return ::log1p(x); }
CG_HD float cg_tanh(float x) { return ::tanhf(x); }
CG_HD double cg_tanh(double x) { return ::tanh(x); }
CG_HD float cg_abs(float x) { return ::fabsf(x); }
CG_HD double cg_abs(double x) { return ::fabs(x); }

template <class T>
CG_HD T relu_fwd(T x) {
  return x > T(0) ? x : T(0);
}
// d relu / dx at 0 is 0, as PyTorch.
template <class T>
CG_HD T relu_bwd(T x, T dy) {
  return x > T(0) ? dy : T(0);
}

// The products are taken unconditionally: with a multiply inside a branch, GCC (which
// assumes FP operations may trap) keeps the branch and the CPU loops do not vectorise.
template <class T>
CG_HD T leaky_relu_fwd(T x, T slope) {
  const T neg = slope * x;
  return x > T(0) ? x : neg;
}
// At 0 the slope branch, as PyTorch.
template <class T>
CG_HD T leaky_relu_bwd(T x, T dy, T slope) {
  const T neg = slope * dy;
  return x > T(0) ? dy : neg;
}

// LeakyReLU's derivative read from its output y. With slope >= 0, y > 0 exactly when x > 0
// (and y = -0 or 0 takes the slope branch as above), so a fused op that keeps only y needs
// no x. slope 0 is ReLU, slope 1 the identity: the epilogue of batch_norm2d_act.
template <class T>
CG_HD T leaky_relu_bwd_from_out(T y, T dy, T slope) {
  const T neg = slope * dy;
  return y > T(0) ? dy : neg;
}

template <class T>
CG_HD T tanh_fwd(T x) {
  return cg_tanh(x);
}
// tanh in float as a rational function with no branch and no libm call, so a CPU loop
// over it vectorises: glibc's tanhf is scalar, ~7 ns an element, and was 3 % of a CPU
// iteration at the demo's width. Eigen's minimax approximation (odd degree 13 over even
// degree 6, clamped where tanh rounds to +-1 in float); within 6 ulp of tanh over the
// whole range (tests/layers/test_activations.cpp sweeps it), 0.4 ns an element. NaN stays
// NaN. The CUDA kernels keep tanhf: a GPU thread computes one element anyway.
CG_HD float tanh_rational(float a) {
  const float c = 7.90531110763549805f;
  const float x = a > c ? c : (a < -c ? -c : a), x2 = x * x;
  float p = -2.76076847742355e-16f;
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  float q = 1.19825839466702e-06f;
  q = q * x2 + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  const float r = (p * x) / q;
  return cg_abs(a) < 0.0004f ? a : r;  // below 4e-4, tanh(a) rounds to a
}
// The CPU's tanh: the rational form in float, libm's in double (the gradient checks' type).
CG_HD float tanh_cpu(float x) { return tanh_rational(x); }
CG_HD double tanh_cpu(double x) { return cg_tanh(x); }

// From the output y = tanh(x): 1 - y^2.
template <class T>
CG_HD T tanh_bwd(T y, T dy) {
  return dy * (T(1) - y * y);
}

// exp of a non-positive argument only, so neither branch overflows.
template <class T>
CG_HD T sigmoid_fwd(T x) {
  if (x >= T(0)) return T(1) / (T(1) + cg_exp(-x));
  const T e = cg_exp(x);
  return e / (T(1) + e);
}
// From the output y = sigmoid(x): y (1 - y).
template <class T>
CG_HD T sigmoid_bwd(T y, T dy) {
  return dy * y * (T(1) - y);
}

// Which activation a generic loop applies (one kernel serves all four).
enum class Activation : int { relu = 0, leaky_relu = 1, tanh = 2, sigmoid = 3 };

template <class T>
CG_HD T activation_fwd(Activation a, T x, T slope) {
  switch (a) {
    case Activation::relu: return relu_fwd(x);
    case Activation::leaky_relu: return leaky_relu_fwd(x, slope);
    case Activation::tanh: return tanh_fwd(x);
    case Activation::sigmoid: return sigmoid_fwd(x);
  }
  return x;
}
// relu/leaky differentiate from the input x, tanh/sigmoid from the output y.
template <class T>
CG_HD T activation_bwd(Activation a, T x, T y, T dy, T slope) {
  switch (a) {
    case Activation::relu: return relu_bwd(x, dy);
    case Activation::leaky_relu: return leaky_relu_bwd(x, dy, slope);
    case Activation::tanh: return tanh_bwd(y, dy);
    case Activation::sigmoid: return sigmoid_bwd(y, dy);
  }
  return dy;
}

// log(1 + e^x) = max(x,0) + log1p(e^-|x|): finite for any finite x.
template <class T>
CG_HD T softplus(T x) {
  return (x > T(0) ? x : T(0)) + cg_log1p(cg_exp(-cg_abs(x)));
}

}  // namespace cg::common
