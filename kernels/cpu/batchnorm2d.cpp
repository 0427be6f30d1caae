// CPU BatchNorm2d (see batchnorm2d.h): one channel per OpenMP iteration, two-pass
// statistics accumulated in double so the float version is a faithful reference; the
// sums run in SIMD lanes (omp simd reduction), in double still.
#include "kernels/cpu/batchnorm2d.h"

#include <cmath>

#include "base/check.h"
#include "base/nvtx.h"
#include "engine/profile.h"

namespace cg::cpu {

template <class T>
void batch_norm2d_forward_train(T* out, T* save_mean, T* save_invstd, T* running_mean, T* running_var,
                               const T* inp, const T* gamma, const T* beta, int64_t N, int64_t C, int64_t HW,
                               double momentum, double eps) {
  NVTX_RANGE_FN();
  const int64_t M = N * HW;
  prof::add_work(0, 4.0 * double(N * C * HW) * sizeof(T));  // x read three times, y written
  CG_CHECK(M > 1, "batch_norm2d_forward_train: needs more than one value per channel, got N*H*W = ", M);
#pragma omp parallel for
  for (int64_t c = 0; c < C; ++c) {
    double sum = 0;
    for (int64_t n = 0; n < N; ++n) {
      const T* x = inp + (n * C + c) * HW;
#pragma omp simd reduction(+ : sum)
      for (int64_t i = 0; i < HW; ++i) sum += x[i];
    }
    const double mean = sum / double(M);
    double sq = 0;
    for (int64_t n = 0; n < N; ++n) {
      const T* x = inp + (n * C + c) * HW;
#pragma omp simd reduction(+ : sq)
      for (int64_t i = 0; i < HW; ++i) sq += (x[i] - mean) * (x[i] - mean);
    }
    const double var = sq / double(M);  // biased: what normalises
    const double invstd = 1.0 / std::sqrt(var + eps);
    const double scale = double(gamma[c]) * invstd, shift = double(beta[c]) - mean * scale;
    for (int64_t n = 0; n < N; ++n) {
      const T* x = inp + (n * C + c) * HW;
      T* y = out + (n * C + c) * HW;
      for (int64_t i = 0; i < HW; ++i) y[i] = T(x[i] * scale + shift);
    }
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
                              const T* running_var, int64_t N, int64_t C, int64_t HW, double eps) {
  NVTX_RANGE_FN();
#pragma omp parallel for collapse(2) if (N * C * HW > 65536)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const double scale = double(gamma[c]) / std::sqrt(double(running_var[c]) + eps);
      const double shift = double(beta[c]) - double(running_mean[c]) * scale;
      const T* x = inp + (n * C + c) * HW;
      T* y = out + (n * C + c) * HW;
      for (int64_t i = 0; i < HW; ++i) y[i] = T(x[i] * scale + shift);
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
                          double /*eps: invstd already holds it; cuDNN's backward needs it*/) {
  NVTX_RANGE_FN();
  const double M = double(N * HW);
  prof::add_work(0, (dinp ? 6.0 : 2.0) * double(N * C * HW) * sizeof(T));  // x, dy twice; dx read and written
#pragma omp parallel for
  for (int64_t c = 0; c < C; ++c) {
    const double mu = mean[c], is = invstd[c];
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t n = 0; n < N; ++n) {
      const T* x = inp + (n * C + c) * HW;
      const T* dy = dout + (n * C + c) * HW;
#pragma omp simd reduction(+ : sum_dy, sum_dy_xhat)
      for (int64_t i = 0; i < HW; ++i) {
        sum_dy += dy[i];
        sum_dy_xhat += dy[i] * (x[i] - mu) * is;
      }
    }
    if (dgamma) dgamma[c] += T(sum_dy_xhat);
    if (dbeta) dbeta[c] += T(sum_dy);
    if (!dinp) continue;
    // Training: dx = gamma*invstd * (dy - mean(dy) - xhat * mean(dy*xhat)); eval: gamma*invstd*dy.
    const double k = double(gamma[c]) * is;
    const double mdy = batch_stats ? sum_dy / M : 0.0, mdyx = batch_stats ? sum_dy_xhat / M : 0.0;
    for (int64_t n = 0; n < N; ++n) {
      const T* x = inp + (n * C + c) * HW;
      const T* dy = dout + (n * C + c) * HW;
      T* dx = dinp + (n * C + c) * HW;
      for (int64_t i = 0; i < HW; ++i) dx[i] += T(k * (dy[i] - mdy - (x[i] - mu) * is * mdyx));
    }
  }
}

#define CG_BN_INSTANTIATE(T)                                                                                 \
  template void batch_norm2d_forward_train<T>(T*, T*, T*, T*, T*, const T*, const T*, const T*, int64_t,      \
                                             int64_t, int64_t, double, double);                             \
  template void batch_norm2d_forward_eval<T>(T*, const T*, const T*, const T*, const T*, const T*, int64_t,   \
                                            int64_t, int64_t, double);                                      \
  template void batch_norm2d_eval_stats<T>(T*, T*, const T*, const T*, int64_t, double);                     \
  template void batch_norm2d_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*,        \
                                        int64_t, int64_t, int64_t, bool, double);
CG_BN_INSTANTIATE(float)
CG_BN_INSTANTIATE(double)
#undef CG_BN_INSTANTIATE

}  // namespace cg::cpu
