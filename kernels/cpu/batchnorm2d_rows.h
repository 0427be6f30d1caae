// The per-row loops of the CPU batch norm (one (n, c) row of H*W values at a time),
// shared by the one-process kernels (batchnorm2d.cpp) and the synchronised ones
// (batchnorm2d_sync.cpp): both add rows in the same order with these same loops, so a
// synchronised batch norm over one rank gives the plain one's bits.
#pragma once
#include <cstdint>
#include <type_traits>

#include "kernels/common/activations.h"
#include "kernels/common/batchnorm.h"

namespace cg::cpu::bn_rows {

// Every loop below takes the row length twice: K, known when compiled (0: not), and HW.
// The model's planes are 4x4 to 64x64; a 16-value row (4x4) is one vector, and with its
// length unknown the loop's set-up and the lane reduction's tail cost more than the row:
// the 4x4 batch norm ran at a quarter of the memory bandwidth the 16x16 one gets.
// with_row_length calls f with the compiled length for those sizes, and 0 otherwise; the
// plain and the synchronised kernels both go through it, so they keep the same sums.
template <class F>
void with_row_length(int64_t HW, F&& f) {
  switch (HW) {
    case 16: return f(std::integral_constant<int64_t, 16>{});
    case 64: return f(std::integral_constant<int64_t, 64>{});
    case 256: return f(std::integral_constant<int64_t, 256>{});
    case 1024: return f(std::integral_constant<int64_t, 1024>{});
    default: return f(std::integral_constant<int64_t, 0>{});
  }
}

// y[i] = act(x[i] * scale + shift) in T: the same value an unfused BN then activation
// computes, so the fused output is bit-identical to it. Slope 1 (plain BN) gives y = 1 * v
// exactly, so one loop serves both.
template <int64_t K, class T>
void normalize_row(T* y, const T* x, int64_t HW, T scale, T shift, T slope) {
  const int64_t n = K ? K : HW;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = common::bn_act_fwd(x[i], scale, shift, slope);
}

// Where a row's gradient at the normalised value comes from: dy itself (no epilogue);
// dy taken back through the epilogue by the sign of its output y; or by the sign of its
// input x * scale + shift, recomputed from x with the forward's own scale and shift in the
// same float operations. Why the last: x * scale + shift > 0 exactly where y > 0 (slope
// >= 0), so g keeps its bits, and the backward reads two arrays per pass instead of three
// (the batch norms of the larger planes are bound by memory).
enum class Src { dy, y, x };

template <Src S, class T>
inline T grad_at(T dy, T y, T x, T slope, T scale, T shift) {
  if constexpr (S == Src::dy) return dy;
  else if constexpr (S == Src::y) return common::bn_act_grad(y, dy, slope);
  else return common::bn_act_grad(x * scale + shift, dy, slope);
}

// Sum of a row, and of its squared deviations from mean, in lanes of T.
// A row of 16 (4x4 planes) is added in order, with no simd reduction: the order GCC's
// AVX-512 reduction gave a float row (one vector, its lanes added one after another),
// written out so that batchnorm2d_rows16.h's 16-rows-at-once sums match it on any
// compiler and vector width.
template <int64_t K, class T>
double row_sum(const T* x, int64_t HW) {
  T s = 0;
  if constexpr (K == 16) {
    for (int64_t i = 0; i < 16; ++i) s += x[i];
  } else {
    const int64_t n = K ? K : HW;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; ++i) s += x[i];
  }
  return double(s);
}
// The 16 lanes added in order, in T.
template <class T>
double lanes_in_order(const T* lane) {
  T s = 0;
  for (int l = 0; l < 16; ++l) s += lane[l];
  return double(s);
}
// The sum in T of g(0) .. g(n-1) in 16 lanes: lane l adds g(l), g(16 + l), ... in order,
// the tail past the last 16 goes into lane 0, and the lanes are added in order: the order
// GCC's AVX-512 `omp simd` reduction gave these sums (read in its disassembly), written out
// so that every compiler, vector width and sanitizer build gives it too. The bias
// gradients use it (bias_grad_add, row_sum_leaky), and the k4s2 weight gradient that sums
// D.conv1's bias in its own pass reproduces it lane by lane (conv_k4s2_wgrad_t.cpp).
template <class T, class G>
double lane_sum16(int64_t n, G&& g) {
  T lane[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) lane[l] += g(i + l);
  for (; i < n; ++i) lane[0] += g(i);
  return lanes_in_order(lane);
}

// A bias gradient's row: the sum of dy, or of dy taken back through a LeakyReLU whose
// output was a, in the same lanes and order (conv2d_leaky_relu's bias gradient equals
// bias_grad_add's of dz).
template <class T>
double row_sum_lanes(const T* dy, int64_t n) {
  return lane_sum16<T>(n, [&](int64_t i) { return dy[i]; });
}
template <class T>
double row_sum_leaky(const T* dy, const T* a, T slope, int64_t n) {
  return lane_sum16<T>(n, [&](int64_t i) { return common::leaky_relu_bwd_from_out(a[i], dy[i], slope); });
}
template <int64_t K, class T>
double row_sq_dev(const T* x, T mean, int64_t HW) {
  T s = 0;
  if constexpr (K == 16) {  // in order, as row_sum
    for (int64_t i = 0; i < 16; ++i) s += (x[i] - mean) * (x[i] - mean);
  } else {
    const int64_t n = K ? K : HW;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; ++i) s += (x[i] - mean) * (x[i] - mean);
  }
  return double(s);
}

// Per-channel sums of g and g * x over one (HW) row in double, g the gradient at the
// normalised value: dout taken back through the epilogue (Act) or dout itself. The
// gradient statistics stay in double: in float, the sign of BN biases' near-zero
// gradients (and so Adam's step on them) departed from PyTorch's (tests/gan/test_parity).
// The caller forms sum(g * xhat) = invstd * (sum(g x) - mean * sum(g)); a float product
// g * x is exact in double, so this is as accurate as summing g * (x - mean) * invstd.
// scale, shift: the channel's, read with Src::x only.
template <Src S, int64_t K, class T>
void row_sums(double& sum_g, double& sum_gx, const T* dy, const T* y, const T* x, T slope, int64_t HW,
              T scale = T(0), T shift = T(0)) {
  double s = 0, sx = 0;
  if constexpr (K == 16) {  // in order, as row_sum
    for (int64_t i = 0; i < 16; ++i) {
      const T g = grad_at<S>(dy[i], y[i], x[i], slope, scale, shift);
      s += g;
      sx += double(g) * double(x[i]);
    }
  } else {
    const int64_t n = K ? K : HW;
#pragma omp simd reduction(+ : s, sx)
    for (int64_t i = 0; i < n; ++i) {
      const T g = grad_at<S>(dy[i], y[i], x[i], slope, scale, shift);
      s += g;
      sx += double(g) * double(x[i]);
    }
  }
  sum_g += s;
  sum_gx += sx;
}

// dx += (or, with accumulate false, =) the input gradient of one row. The branch on
// accumulate is loop-invariant: GCC unswitches it, both loops vectorise.
template <Src S, int64_t K, class T>
void row_dx(T* dx, const T* dy, const T* y, const T* x, T slope, T mu, T is, T k, T mdy, T mdyx, int64_t HW,
            bool accumulate, T scale = T(0), T shift = T(0)) {
  const int64_t n = K ? K : HW;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const T g = grad_at<S>(dy[i], y[i], x[i], slope, scale, shift);
    const T v = common::bn_dx(g, x[i], mu, is, k, mdy, mdyx);
    dx[i] = accumulate ? dx[i] + v : v;
  }
}

}  // namespace cg::cpu::bn_rows
