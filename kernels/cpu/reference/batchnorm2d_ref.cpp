// Reference BatchNorm2d (see batchnorm2d_ref.h): one channel at a time, each statistic and
// gradient a plain sum in double. The training backward is the chain rule through the mean
// and the variance written term by term (the fast kernel uses the folded formula instead).
#include "kernels/cpu/reference/batchnorm2d_ref.h"

#include <cmath>

namespace cg::cpu::ref {

namespace {

// Element (n,c,i) of an (N,C,HW) tensor.
int64_t at(int64_t n, int64_t c, int64_t i, int64_t C, int64_t HW) { return (n * C + c) * HW + i; }

// With xhat = (inp - mean) * invstd and out = gamma * xhat + beta:
// dgamma[c] += sum_{n,i} dout * xhat,  dbeta[c] += sum_{n,i} dout.
template <class T>
void affine_grads(T* dgamma, T* dbeta, const T* dout, const T* inp, double mean, double invstd, int64_t c, int64_t N,
                  int64_t C, int64_t HW) {
  double sum_dy = 0, sum_dy_xhat = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < HW; ++i) {
      const double dy = dout[at(n, c, i, C, HW)], xhat = (inp[at(n, c, i, C, HW)] - mean) * invstd;
      sum_dy += dy;
      sum_dy_xhat += dy * xhat;
    }
  if (dgamma) dgamma[c] += T(sum_dy_xhat);
  if (dbeta) dbeta[c] += T(sum_dy);
}

}  // namespace

// mean[c] = sum_{n,i} inp / M,  var[c] = sum_{n,i} (inp - mean)^2 / M,  M = N*HW.
template <class T>
void batch_norm2d_forward_train(T* out, T* mean, T* var, const T* inp, const T* gamma, const T* beta, int64_t N,
                               int64_t C, int64_t HW, double eps) {
  const double M = double(N * HW);
  for (int64_t c = 0; c < C; ++c) {
    double sum = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) sum += inp[at(n, c, i, C, HW)];
    const double mu = sum / M;
    double sq = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) sq += (inp[at(n, c, i, C, HW)] - mu) * (inp[at(n, c, i, C, HW)] - mu);
    const double v = sq / M;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i)
        out[at(n, c, i, C, HW)] = T(gamma[c] * (inp[at(n, c, i, C, HW)] - mu) / std::sqrt(v + eps) + beta[c]);
    mean[c] = T(mu);
    var[c] = T(v);
  }
}

template <class T>
void batch_norm2d_update_running(T* running_mean, T* running_var, const T* mean, const T* var, int64_t C, int64_t M,
                                double momentum) {
  for (int64_t c = 0; c < C; ++c) {
    running_mean[c] = T((1 - momentum) * running_mean[c] + momentum * mean[c]);
    running_var[c] = T((1 - momentum) * running_var[c] + momentum * var[c] * double(M) / double(M - 1));
  }
}

template <class T>
void batch_norm2d_forward_eval(T* out, const T* inp, const T* gamma, const T* beta, const T* running_mean,
                              const T* running_var, int64_t N, int64_t C, int64_t HW, double eps) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < HW; ++i)
        out[at(n, c, i, C, HW)] = T(gamma[c] * (double(inp[at(n, c, i, C, HW)]) - running_mean[c]) /
                                        std::sqrt(double(running_var[c]) + eps) +
                                    beta[c]);
}

// Per channel, with d = inp - mean, invstd = 1/sqrt(var + eps), dxhat = dout * gamma:
//   dvar  = sum dxhat * d * (-1/2) * invstd^3
//   dmean = sum dxhat * (-invstd) + dvar * sum(-2 d) / M
//   dinp += dxhat * invstd + dvar * 2 d / M + dmean / M
// (sum(-2 d) is zero up to rounding; it is kept because it is what the chain rule gives.)
template <class T>
void batch_norm2d_backward_train(T* dinp, T* dgamma, T* dbeta, const T* dout, const T* inp, const T* gamma,
                                const T* mean, const T* var, int64_t N, int64_t C, int64_t HW, double eps) {
  const double M = double(N * HW);
  for (int64_t c = 0; c < C; ++c) {
    const double mu = mean[c], invstd = 1.0 / std::sqrt(double(var[c]) + eps), g = gamma[c];
    affine_grads(dgamma, dbeta, dout, inp, mu, invstd, c, N, C, HW);
    if (!dinp) continue;
    double dvar = 0, sum_d = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) {
        const double d = inp[at(n, c, i, C, HW)] - mu, dxhat = dout[at(n, c, i, C, HW)] * g;
        dvar += dxhat * d * -0.5 * invstd * invstd * invstd;
        sum_d += d;
      }
    double dmean = dvar * (-2.0 * sum_d) / M;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) dmean += dout[at(n, c, i, C, HW)] * g * -invstd;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) {
        const double d = inp[at(n, c, i, C, HW)] - mu, dxhat = dout[at(n, c, i, C, HW)] * g;
        dinp[at(n, c, i, C, HW)] += T(dxhat * invstd + dvar * 2.0 * d / M + dmean / M);
      }
  }
}

// Eval: out = gamma * (inp - running_mean) * invstd + beta with constant statistics, so
// dinp += dout * gamma * invstd and dgamma, dbeta as in training.
template <class T>
void batch_norm2d_backward_eval(T* dinp, T* dgamma, T* dbeta, const T* dout, const T* inp, const T* gamma,
                               const T* running_mean, const T* running_var, int64_t N, int64_t C, int64_t HW,
                               double eps) {
  for (int64_t c = 0; c < C; ++c) {
    const double invstd = 1.0 / std::sqrt(double(running_var[c]) + eps);
    affine_grads(dgamma, dbeta, dout, inp, double(running_mean[c]), invstd, c, N, C, HW);
    if (!dinp) continue;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i)
        dinp[at(n, c, i, C, HW)] += T(double(dout[at(n, c, i, C, HW)]) * gamma[c] * invstd);
  }
}

#define CG_BN_REF_INSTANTIATE(T)                                                                                     \
  template void batch_norm2d_forward_train<T>(T*, T*, T*, const T*, const T*, const T*, int64_t, int64_t, int64_t,    \
                                             double);                                                                \
  template void batch_norm2d_update_running<T>(T*, T*, const T*, const T*, int64_t, int64_t, double);                 \
  template void batch_norm2d_forward_eval<T>(T*, const T*, const T*, const T*, const T*, const T*, int64_t, int64_t,  \
                                            int64_t, double);                                                        \
  template void batch_norm2d_backward_train<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*, int64_t, \
                                              int64_t, int64_t, double);                                             \
  template void batch_norm2d_backward_eval<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*, int64_t,  \
                                             int64_t, int64_t, double);
CG_BN_REF_INSTANTIATE(float)
CG_BN_REF_INSTANTIATE(double)
#undef CG_BN_REF_INSTANTIATE

}  // namespace cg::cpu::ref
