// CPU losses (see losses.h): sums accumulated in double so the float version is a
// faithful reference for the CUDA one.
#include "kernels/cpu/losses.h"

#include "base/check.h"
#include "base/nvtx.h"
#include "base/profile.h"
#include "kernels/common/losses.h"
#include "kernels/cpu/parallel.h"

namespace cg::cpu {

template <class T>
void bce_with_logits_forward(T* loss, const T* z, const T* t, int64_t n) {
  NVTX_RANGE_FN();
  prof::add_work(6.0 * double(n), 2.0 * double(n) * sizeof(T));
  CG_CHECK(n > 0, "bce_with_logits_forward: empty input");
  double s = 0;
#pragma omp parallel for reduction(+ : s) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) s += double(common::bce_with_logits_elem(z[i], t[i]));
  loss[0] = T(s / double(n));
}

template <class T>
void bce_with_logits_backward(T* dz, const T* dloss, const T* z, const T* t, int64_t n) {
  NVTX_RANGE_FN();
  prof::add_work(5.0 * double(n), 4.0 * double(n) * sizeof(T));
  const T k = dloss[0] / T(n);
  parallel_each(n, 65536, [&](int64_t i) { dz[i] += k * common::bce_with_logits_grad(z[i], t[i]); });
}

template <class T>
void cross_entropy_forward(T* loss, T* lse, const T* z, const int32_t* labels, int64_t N, int64_t K) {
  NVTX_RANGE_FN();
  prof::add_work(4.0 * double(N * K), double(N * K + N) * sizeof(T));
  CG_CHECK(N > 0 && K > 0, "cross_entropy_forward: empty logits (", N, ",", K, ")");
  for (int64_t i = 0; i < N; ++i)
    CG_CHECK(labels[i] >= 0 && labels[i] < K, "cross_entropy: label ", labels[i], " of row ", i,
             " is outside [0, ", K, ") for logits (", N, ",", K, ")");
  double s = 0;
  for (int64_t i = 0; i < N; ++i) {
    const T* row = z + i * K;
    lse[i] = common::logsumexp_row(row, K);
    s += double(lse[i]) - double(row[labels[i]]);
  }
  loss[0] = T(s / double(N));
}

template <class T>
void cross_entropy_backward(T* dz, const T* dloss, const T* z, const T* lse, const int32_t* labels, int64_t N,
                            int64_t K) {
  NVTX_RANGE_FN();
  prof::add_work(4.0 * double(N * K), 3.0 * double(N * K) * sizeof(T));
  const T k = dloss[0] / T(N);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < K; ++j)
      dz[i * K + j] += k * common::cross_entropy_grad(z[i * K + j], lse[i], j == labels[i]);
}

template <class T>
void mse_forward(T* loss, const T* p, const T* t, int64_t n) {
  NVTX_RANGE_FN();
  prof::add_work(3.0 * double(n), 2.0 * double(n) * sizeof(T));
  CG_CHECK(n > 0, "mse_forward: empty input");
  double s = 0;
#pragma omp parallel for reduction(+ : s) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) s += double(common::mse_elem(p[i], t[i]));
  loss[0] = T(s / double(n));
}

template <class T>
void mse_backward(T* dp, const T* dloss, const T* p, const T* t, int64_t n) {
  NVTX_RANGE_FN();
  prof::add_work(4.0 * double(n), 4.0 * double(n) * sizeof(T));
  const T k = dloss[0] / T(n);
  parallel_each(n, 65536, [&](int64_t i) { dp[i] += k * common::mse_grad(p[i], t[i]); });
}

#define CG_LOSS_INSTANTIATE(T)                                                                          \
  template void bce_with_logits_forward<T>(T*, const T*, const T*, int64_t);                                 \
  template void bce_with_logits_backward<T>(T*, const T*, const T*, const T*, int64_t);                      \
  template void cross_entropy_forward<T>(T*, T*, const T*, const int32_t*, int64_t, int64_t);           \
  template void cross_entropy_backward<T>(T*, const T*, const T*, const T*, const int32_t*, int64_t,    \
                                          int64_t);                                                     \
  template void mse_forward<T>(T*, const T*, const T*, int64_t);                                        \
  template void mse_backward<T>(T*, const T*, const T*, const T*, int64_t);
CG_LOSS_INSTANTIATE(float)
CG_LOSS_INSTANTIATE(double)
#undef CG_LOSS_INSTANTIATE

}  // namespace cg::cpu
