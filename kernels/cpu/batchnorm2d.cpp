// CPU BatchNorm2d (see batchnorm2d.h): one channel per OpenMP iteration, two-pass
// statistics. Each (n, c) row (H*W values) is summed in SIMD lanes of T (omp simd
// reduction) and the row sums are added in double, so the float version keeps the
// accuracy of a double sum across the batch while its inner loops stay in float: with
// every element converted to double the passes ran at half the speed (BN was 10 % of a
// CPU iteration at the demo's width). The pointwise arithmetic is in T.
#include "kernels/cpu/batchnorm2d.h"

#include <cmath>

#include "base/check.h"
#include "base/nvtx.h"
#include "engine/profile.h"
#include "kernels/common/activations.h"

namespace cg::cpu {

namespace {

// y[i] = act(x[i] * scale + shift) in T: the same value an unfused BN then activation
// computes, so the fused output is bit-identical to it. Slope 1 (plain BN) gives y = 1 * v
// exactly, so one loop serves both.
template <class T>
void normalize_row(T* y, const T* x, int64_t HW, T scale, T shift, T slope) {
  for (int64_t i = 0; i < HW; ++i) y[i] = common::leaky_relu_fwd(x[i] * scale + shift, slope);
}

// Sum of a row, and of its squared deviations from mean, in lanes of T.
template <class T>
double row_sum(const T* x, int64_t HW) {
  T s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < HW; ++i) s += x[i];
  return double(s);
}
template <class T>
double row_sq_dev(const T* x, T mean, int64_t HW) {
  T s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < HW; ++i) s += (x[i] - mean) * (x[i] - mean);
  return double(s);
}

// Per-channel sums of g and g * x over one (HW) row in double, g the gradient at the
// normalised value: dout taken back through the epilogue (Act) or dout itself. The
// gradient statistics stay in double: in float, the sign of BN biases' near-zero
// gradients (and so Adam's step on them) departed from PyTorch's (tests/gan/test_parity).
// The caller forms sum(g * xhat) = invstd * (sum(g x) - mean * sum(g)); a float product
// g * x is exact in double, so this is as accurate as summing g * (x - mean) * invstd.
template <bool Act, class T>
void row_sums(double& sum_g, double& sum_gx, const T* dy, const T* y, const T* x, T slope, int64_t HW) {
  double s = 0, sx = 0;
#pragma omp simd reduction(+ : s, sx)
  for (int64_t i = 0; i < HW; ++i) {
    const T g = Act ? common::leaky_relu_bwd_from_out(y[i], dy[i], slope) : dy[i];
    s += g;
    sx += double(g) * double(x[i]);
  }
  sum_g += s;
  sum_gx += sx;
}

// dx += (or, with accumulate false, =) the input gradient of one row. The branch on
// accumulate is loop-invariant: GCC unswitches it, both loops vectorise.
template <bool Act, class T>
void row_dx(T* dx, const T* dy, const T* y, const T* x, T slope, T mu, T is, T k, T mdy, T mdyx, int64_t HW,
            bool accumulate) {
  for (int64_t i = 0; i < HW; ++i) {
    const T g = Act ? common::leaky_relu_bwd_from_out(y[i], dy[i], slope) : dy[i];
    const T v = k * (g - mdy - (x[i] - mu) * is * mdyx);
    dx[i] = accumulate ? dx[i] + v : v;
  }
}

}  // namespace

template <class T>
void batch_norm2d_forward_train(T* out, T* save_mean, T* save_invstd, T* running_mean, T* running_var,
                               const T* inp, const T* gamma, const T* beta, int64_t N, int64_t C, int64_t HW,
                               double momentum, double eps, T slope) {
  NVTX_RANGE_FN();
  const int64_t M = N * HW;
  prof::add_work(0, 4.0 * double(N * C * HW) * sizeof(T));  // x read three times, y written
  CG_CHECK(M > 1, "batch_norm2d_forward_train: needs more than one value per channel, got N*H*W = ", M);
#pragma omp parallel for
  for (int64_t c = 0; c < C; ++c) {
    double sum = 0;
    for (int64_t n = 0; n < N; ++n) sum += row_sum(inp + (n * C + c) * HW, HW);
    const double mean = sum / double(M);
    double sq = 0;  // deviations from the mean rounded to T, as the rows are
    for (int64_t n = 0; n < N; ++n) sq += row_sq_dev(inp + (n * C + c) * HW, T(mean), HW);
    const double var = sq / double(M);  // biased: what normalises
    const double invstd = 1.0 / std::sqrt(var + eps);
    const double scale = double(gamma[c]) * invstd, shift = double(beta[c]) - mean * scale;
    for (int64_t n = 0; n < N; ++n)
      normalize_row(out + (n * C + c) * HW, inp + (n * C + c) * HW, HW, T(scale), T(shift), slope);
    save_mean[c] = T(mean);
    save_invstd[c] = T(invstd);
    if (running_mean) {
      running_mean[c] = T((1 - momentum) * running_mean[c] + momentum * mean);
      running_var[c] = T((1 - momentum) * running_var[c] + momentum * sq / double(M - 1));  // unbiased
    }
  }
}

template <class T>
void batch_norm2d_forward_eval(T* out, const T* inp, const T* gamma, const T* beta, const T* running_mean,
                              const T* running_var, int64_t N, int64_t C, int64_t HW, double eps, T slope) {
  NVTX_RANGE_FN();
#pragma omp parallel for collapse(2) if (N * C * HW > 65536)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const double scale = double(gamma[c]) / std::sqrt(double(running_var[c]) + eps);
      const double shift = double(beta[c]) - double(running_mean[c]) * scale;
      normalize_row(out + (n * C + c) * HW, inp + (n * C + c) * HW, HW, T(scale), T(shift), slope);
    }
}

template <class T>
void batch_norm2d_eval_stats(T* mean, T* invstd, const T* running_mean, const T* running_var, int64_t C,
                            double eps) {
  NVTX_RANGE_FN();
  for (int64_t c = 0; c < C; ++c) {
    mean[c] = running_mean[c];
    invstd[c] = T(1.0 / std::sqrt(double(running_var[c]) + eps));
  }
}

template <class T>
void batch_norm2d_backward(T* dinp, T* dgamma, T* dbeta, const T* dout, const T* inp, const T* gamma,
                          const T* mean, const T* invstd, int64_t N, int64_t C, int64_t HW, bool batch_stats,
                          double /*eps: invstd already holds it; cuDNN's backward needs it*/, const T* out,
                          T slope, bool accumulate) {
  NVTX_RANGE_FN();
  const double M = double(N * HW);
  // x, dy (and y) once or twice; dx read and written
  const double passes = (dinp ? (accumulate ? 6.0 : 5.0) : 2.0) + (out ? (dinp ? 2.0 : 1.0) : 0.0);
  prof::add_work(0, passes * double(N * C * HW) * sizeof(T));
#pragma omp parallel for
  for (int64_t c = 0; c < C; ++c) {
    const T mu = mean[c], is = invstd[c];
    double sum_dy = 0, sum_dy_x = 0;
    for (int64_t n = 0; n < N; ++n) {
      const T* x = inp + (n * C + c) * HW;
      const T* dy = dout + (n * C + c) * HW;
      if (out)
        row_sums<true>(sum_dy, sum_dy_x, dy, out + (n * C + c) * HW, x, slope, HW);
      else
        row_sums<false>(sum_dy, sum_dy_x, dy, dy, x, slope, HW);
    }
    const double sum_dy_xhat = double(is) * (sum_dy_x - double(mu) * sum_dy);
    if (dgamma) dgamma[c] += T(sum_dy_xhat);
    if (dbeta) dbeta[c] += T(sum_dy);
    if (!dinp) continue;
    // Training: dx = gamma*invstd * (dy - mean(dy) - xhat * mean(dy*xhat)); eval: gamma*invstd*dy.
    const T k = T(double(gamma[c]) * double(is));
    const T mdy = T(batch_stats ? sum_dy / M : 0.0), mdyx = T(batch_stats ? sum_dy_xhat / M : 0.0);
    for (int64_t n = 0; n < N; ++n) {
      const T* x = inp + (n * C + c) * HW;
      const T* dy = dout + (n * C + c) * HW;
      T* dx = dinp + (n * C + c) * HW;
      if (out)
        row_dx<true>(dx, dy, out + (n * C + c) * HW, x, slope, mu, is, k, mdy, mdyx, HW, accumulate);
      else
        row_dx<false>(dx, dy, dy, x, slope, mu, is, k, mdy, mdyx, HW, accumulate);
    }
  }
}

#define CG_BN_INSTANTIATE(T)                                                                                 \
  template void batch_norm2d_forward_train<T>(T*, T*, T*, T*, T*, const T*, const T*, const T*, int64_t,      \
                                             int64_t, int64_t, double, double, T);                          \
  template void batch_norm2d_forward_eval<T>(T*, const T*, const T*, const T*, const T*, const T*, int64_t,   \
                                            int64_t, int64_t, double, T);                                   \
  template void batch_norm2d_eval_stats<T>(T*, T*, const T*, const T*, int64_t, double);                     \
  template void batch_norm2d_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*,        \
                                        int64_t, int64_t, int64_t, bool, double, const T*, T, bool);
CG_BN_INSTANTIATE(float)
CG_BN_INSTANTIATE(double)
#undef CG_BN_INSTANTIATE

}  // namespace cg::cpu
