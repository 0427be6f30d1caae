// CPU synchronised BatchNorm2d (see batchnorm2d_sync.h): one channel per OpenMP
// iteration, its rows added in sample order with batchnorm2d_rows.h's loops and the
// per-channel arithmetic written as batchnorm2d.cpp writes it, so one rank reproduces the
// plain kernels bit for bit (tests/layers/test_batchnorm_sync.cpp checks).
#include "kernels/cpu/batchnorm2d_sync.h"

#include <cmath>

#include "base/nvtx.h"
#include "base/profile.h"
#include "kernels/cpu/batchnorm2d_rows.h"
#include "kernels/cpu/parallel.h"

namespace cg::cpu {

using namespace bn_rows;

template <class T>
void batch_norm2d_sync_sums(double* sum, const T* x, int64_t N, int64_t C, int64_t HW) {
  NVTX_RANGE_FN();
  prof::add_work(0, double(N * C * HW) * sizeof(T));
  parallel_each_if(N * C * HW > 65536, C, [&](int64_t c) {
    double s = 0;
    with_row_length(HW, [&](auto k) {
      for (int64_t n = 0; n < N; ++n) s += row_sum<decltype(k)::value>(x + (n * C + c) * HW, HW);
    });
    sum[c] = s;
  });
  sum[C] = double(N * HW);
}

template <class T>
void batch_norm2d_sync_sq_dev(double* sq, const T* x, const double* sum, int64_t N, int64_t C, int64_t HW) {
  NVTX_RANGE_FN();
  const double M = sum[C];
  prof::add_work(0, double(N * C * HW) * sizeof(T));
  parallel_each_if(N * C * HW > 65536, C, [&](int64_t c) {
    const T mean = T(sum[c] / M);  // rounded to T, as the plain kernel's rows see it
    double s = 0;
    with_row_length(HW, [&](auto k) {
      for (int64_t n = 0; n < N; ++n) s += row_sq_dev<decltype(k)::value>(x + (n * C + c) * HW, mean, HW);
    });
    sq[c] = s;
  });
}

template <class T>
void batch_norm2d_sync_apply(T* out, T* save_mean, T* save_invstd, T* running_mean, T* running_var, const T* x,
                             const T* gamma, const T* beta, const double* sum, const double* sq, int64_t N,
                             int64_t C, int64_t HW, double momentum, double eps, T slope) {
  NVTX_RANGE_FN();
  const double M = sum[C];
  prof::add_work(0, 2.0 * double(N * C * HW) * sizeof(T));
  parallel_each_if(N * C * HW > 65536, C, [&](int64_t c) {
    const double mean = sum[c] / M, var = sq[c] / M;  // biased: what normalises
    const double invstd = 1.0 / std::sqrt(var + eps);
    const double scale = double(gamma[c]) * invstd, shift = double(beta[c]) - mean * scale;
    save_mean[c] = T(mean);
    save_invstd[c] = T(invstd);
    if (running_mean) {
      running_mean[c] = T((1 - momentum) * running_mean[c] + momentum * mean);
      running_var[c] = T((1 - momentum) * running_var[c] + momentum * sq[c] / (M - 1));  // unbiased
    }
    with_row_length(HW, [&](auto k) {
      for (int64_t n = 0; n < N; ++n)
        normalize_row<decltype(k)::value>(out + (n * C + c) * HW, x + (n * C + c) * HW, HW, T(scale), T(shift),
                                          slope);
    });
  });
}

template <class T>
void batch_norm2d_sync_grad_sums(double* sums, const T* dout, const T* x, const T* out, T slope, int64_t N,
                                 int64_t C, int64_t HW) {
  NVTX_RANGE_FN();
  prof::add_work(0, (out ? 3.0 : 2.0) * double(N * C * HW) * sizeof(T));
  parallel_each_if(N * C * HW > 65536, C, [&](int64_t c) {
    double sg = 0, sgx = 0;
    with_row_length(HW, [&](auto k) {
      constexpr int64_t K = decltype(k)::value;
      for (int64_t n = 0; n < N; ++n) {
        const size_t at = size_t((n * C + c) * HW);
        if (out) row_sums<Src::y, K>(sg, sgx, dout + at, out + at, x + at, slope, HW);
        else row_sums<Src::dy, K>(sg, sgx, dout + at, dout + at, x + at, slope, HW);
      }
    });
    sums[c] = sg, sums[C + c] = sgx;
  });
}

template <class T>
void batch_norm2d_sync_backward(T* dinp, T* dgamma, T* dbeta, const T* dout, const T* x, const T* gamma,
                                const T* mean, const T* invstd, const double* local, const double* global,
                                const double* count, int64_t N, int64_t C, int64_t HW, const T* out, T slope,
                                bool accumulate) {
  NVTX_RANGE_FN();
  const double M = *count;
  prof::add_work(0, (dinp ? (accumulate ? 4.0 : 3.0) + (out ? 1.0 : 0.0) : 0.0) * double(N * C * HW) * sizeof(T));
  parallel_each_if(N * C * HW > 65536, C, [&](int64_t c) {
    const double mu = double(mean[c]), is = double(invstd[c]);
    if (dgamma) dgamma[c] += T(is * (local[C + c] - mu * local[c]));
    if (dbeta) dbeta[c] += T(local[c]);
    if (!dinp) return;
    const double sum_dy_xhat = is * (global[C + c] - mu * global[c]);
    const T k = T(double(gamma[c]) * is), mdy = T(global[c] / M), mdyx = T(sum_dy_xhat / M);
    with_row_length(HW, [&](auto row_length) {
      constexpr int64_t K = decltype(row_length)::value;
      for (int64_t n = 0; n < N; ++n) {
        const size_t at = size_t((n * C + c) * HW);
        if (out)
          row_dx<Src::y, K>(dinp + at, dout + at, out + at, x + at, slope, mean[c], invstd[c], k, mdy, mdyx, HW,
                          accumulate);
        else
          row_dx<Src::dy, K>(dinp + at, dout + at, dout + at, x + at, slope, mean[c], invstd[c], k, mdy, mdyx, HW,
                           accumulate);
      }
    });
  });
}

#define CG_BN_SYNC_INSTANTIATE(T)                                                                             \
  template void batch_norm2d_sync_sums<T>(double*, const T*, int64_t, int64_t, int64_t);                      \
  template void batch_norm2d_sync_sq_dev<T>(double*, const T*, const double*, int64_t, int64_t, int64_t);  \
  template void batch_norm2d_sync_apply<T>(T*, T*, T*, T*, T*, const T*, const T*, const T*, const double*,  \
                                           const double*, int64_t, int64_t, int64_t, double, double, T);     \
  template void batch_norm2d_sync_grad_sums<T>(double*, const T*, const T*, const T*, T, int64_t, int64_t,   \
                                               int64_t);                                                     \
  template void batch_norm2d_sync_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*,  \
                                              const double*, const double*, const double*, int64_t, int64_t,   \
                                              int64_t,                                                       \
                                              const T*, T, bool);
CG_BN_SYNC_INSTANTIATE(float)
CG_BN_SYNC_INSTANTIATE(double)
#undef CG_BN_SYNC_INSTANTIATE

}  // namespace cg::cpu
