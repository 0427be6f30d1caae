// CPU BatchNorm2d (see batchnorm2d.h): channel blocks shared by the CPU pool, two-pass
// statistics. Each (n, c) row (H*W values) is summed in SIMD lanes of T (omp simd
// reduction) and the row sums are added in double, so the float version keeps the
// accuracy of a double sum across the batch while its inner loops stay in float: with
// every element converted to double the passes ran at half the speed (BN was 10 % of a
// CPU iteration at the demo's width). The pointwise arithmetic is in T. On 4x4 planes
// the float sums run 16 channels at a time (batchnorm2d_rows16.h, the same bits): one row
// at a time, each 16-value row ended in a chain of 16 dependent adds.
#include "kernels/cpu/batchnorm2d.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "base/check.h"
#include "base/nvtx.h"
#include "base/profile.h"
#include "kernels/cpu/batchnorm2d_rows.h"
#include "kernels/cpu/batchnorm2d_rows16.h"
#include "kernels/cpu/parallel.h"

namespace cg::cpu {

namespace {

using namespace bn_rows;

// Channels in blocks of about 64 K values (256 KiB in float, in L2 across a block's
// passes), one block per work unit, taken by the threads one at a time (a thread the OS
// holds up delays one block, not a fixed share). The passes over a block walk the samples
// outside and its channels inside, so each reads one contiguous run of block*HW values
// per sample; one channel's rows are C*HW apart, and walking them in turn (as before)
// stalled on a cache miss at every row on small planes (8x8: 256 bytes a row). A
// channel's sums add its rows in sample order whatever block or thread computes them.
struct Channels {
  int64_t C, HW, block, units;
  Channels(int64_t c, int64_t N, int64_t hw) : C(c), HW(hw) {
    block = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, N * HW));
    units = (C + block - 1) / block;
  }
  // f(row_length, b0, b1) for the channel blocks [b0, b1) of units [u0, u1), row_length
  // the compile-time row length with_row_length gives (its ::value).
  template <class F>
  void each_block(int64_t u0, int64_t u1, F&& f) const {
    with_row_length(HW, [&](auto row_length) {
      for (int64_t u = u0; u < u1; ++u) f(row_length, u * block, std::min(C, u * block + block));
    });
  }
};

// The sums of one sample's rows of channels [b0, b1), x, dy, y at that sample's channel 0.
// Rows of 16 floats go 16 channels at a time (batchnorm2d_rows16.h, the same bits as the
// row loops); the rest, and every other length, one row at a time.
template <int64_t K, class T>
constexpr bool kBy16 = K == 16 && std::is_same_v<T, float>;

// sum[c - b0] += row c's sum
template <int64_t K, class T>
void add_sums(double* sum, const T* x, int64_t HW, int64_t b0, int64_t b1) {
  int64_t c = b0;
  if constexpr (kBy16<K, T>)
    for (; c + 16 <= b1; c += 16) sums16(sum + (c - b0), x + c * HW);
  for (; c < b1; ++c) sum[c - b0] += row_sum<K>(x + c * HW, HW);
}

// sq[c - b0] += row c's squared deviations from mean[c - b0]
template <int64_t K, class T>
void add_sq_devs(double* sq, const T* x, const T* mean, int64_t HW, int64_t b0, int64_t b1) {
  int64_t c = b0;
  if constexpr (kBy16<K, T>)
    for (; c + 16 <= b1; c += 16) sq_devs16(sq + (c - b0), x + c * HW, mean + (c - b0));
  for (; c < b1; ++c) sq[c - b0] += row_sq_dev<K>(x + c * HW, mean[c - b0], HW);
}

// The backward's source of the gradient at the normalised value (batchnorm2d_rows.h): with
// the epilogue, the sign of x * scale + shift where the forward's scale and shift were
// saved, else of the output.
struct GradSource {
  const void* out;
  const void* scale;
  template <class F>
  void with(F&& f) const {
    if (out && scale) return f(std::integral_constant<Src, Src::x>{});
    if (out) return f(std::integral_constant<Src, Src::y>{});
    f(std::integral_constant<Src, Src::dy>{});
  }
};

// sum_g[c - b0], sum_gx[c - b0] += row c's gradient sums (row_sums); y is read with Src::y
// only, scale and shift (per channel) with Src::x only
template <Src S, int64_t K, class T>
void add_grad_sums(double* sum_g, double* sum_gx, const T* dy, const T* y, const T* x, T slope, const T* scale,
                   const T* shift, int64_t HW, int64_t b0, int64_t b1) {
  const auto sc = [&](int64_t c) { return S == Src::x ? scale[c] : T(0); };
  const auto sh = [&](int64_t c) { return S == Src::x ? shift[c] : T(0); };
  int64_t c = b0;
  if constexpr (kBy16<K, T>)
    for (; c + 16 <= b1; c += 16)
      grad_sums16<S>(sum_g + (c - b0), sum_gx + (c - b0), dy + c * HW, y + c * HW, x + c * HW, slope,
                     S == Src::x ? scale + c : nullptr, S == Src::x ? shift + c : nullptr);
  for (; c < b1; ++c)
    row_sums<S, K>(sum_g[c - b0], sum_gx[c - b0], dy + c * HW, y + c * HW, x + c * HW, slope, HW, sc(c), sh(c));
}

}  // namespace

template <class T>
void batch_norm2d_forward_train(T* out, T* save_mean, T* save_invstd, T* running_mean, T* running_var,
                               const T* inp, const T* gamma, const T* beta, int64_t N, int64_t C, int64_t HW,
                               double momentum, double eps, T slope, T* save_scale, T* save_shift) {
  NVTX_RANGE_FN();
  const int64_t M = N * HW;
  // x read three times, y written; per value a sum, a squared deviation, scale, shift, activation
  prof::add_work(7.0 * double(N * C * HW), 4.0 * double(N * C * HW) * sizeof(T));
  CG_CHECK(M > 1, "batch_norm2d_forward_train: needs more than one value per channel, got N*H*W = ", M);
  const Channels ch(C, N, HW);
  parallel_for("batch_norm2d_forward_train", ch.units, 1, [&](int64_t u0, int64_t u1) {
    std::vector<double> sum(size_t(ch.block)), sq(size_t(ch.block)), scale(size_t(ch.block)), shift(size_t(ch.block));
    std::vector<T> mean_t(size_t(ch.block));
    ch.each_block(u0, u1, [&](auto row_length, int64_t b0, int64_t b1) {
      constexpr int64_t K = decltype(row_length)::value;
      std::fill(sum.begin(), sum.end(), 0.0), std::fill(sq.begin(), sq.end(), 0.0);
      for (int64_t n = 0; n < N; ++n) add_sums<K>(sum.data(), inp + n * C * HW, HW, b0, b1);
      // deviations from the mean rounded to T, as the rows are
      for (int64_t c = b0; c < b1; ++c) mean_t[size_t(c - b0)] = T(sum[size_t(c - b0)] / double(M));
      for (int64_t n = 0; n < N; ++n) add_sq_devs<K>(sq.data(), inp + n * C * HW, mean_t.data(), HW, b0, b1);
      for (int64_t c = b0; c < b1; ++c) {
        const size_t i = size_t(c - b0);
        const double mean = sum[i] / double(M), var = sq[i] / double(M);  // biased: what normalises
        const common::BnForward f = common::bn_forward_coeffs(mean, var, gamma[c], beta[c], eps);
        scale[i] = f.scale, shift[i] = f.shift;
        save_mean[c] = T(mean);
        save_invstd[c] = T(f.invstd);
        if (save_scale) save_scale[c] = T(f.scale), save_shift[c] = T(f.shift);  // as normalize_row gets them
        if (running_mean) {
          running_mean[c] = T(common::bn_running(running_mean[c], mean, momentum));
          running_var[c] = T(common::bn_running(running_var[c], sq[i] / double(M - 1), momentum));  // unbiased
        }
      }
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = b0; c < b1; ++c)
          normalize_row<K>(out + (n * C + c) * HW, inp + (n * C + c) * HW, HW, T(scale[size_t(c - b0)]),
                           T(shift[size_t(c - b0)]), slope);
    });
  });
}

template <class T>
void batch_norm2d_forward_eval(T* out, const T* inp, const T* gamma, const T* beta, const T* running_mean,
                              const T* running_var, int64_t N, int64_t C, int64_t HW, double eps, T slope) {
  NVTX_RANGE_FN();
  parallel_each_if(N * C * HW > 65536, N * C, [&](int64_t nc) {
    const int64_t c = nc % C;
    const double scale = double(gamma[c]) / std::sqrt(double(running_var[c]) + eps);
    const double shift = double(beta[c]) - double(running_mean[c]) * scale;
    normalize_row<0>(out + nc * HW, inp + nc * HW, HW, T(scale), T(shift), slope);
  });
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
                          T slope, bool accumulate, const T* scale, const T* shift) {
  NVTX_RANGE_FN();
  CG_CHECK((scale == nullptr) == (shift == nullptr), "batch_norm2d_backward: scale and shift come together");
  const double M = double(N * HW);
  const GradSource src{out, scale};
  // x, dy (and y, unless scale and shift stand in for it) once or twice; dx read and written
  const double passes = (dinp ? (accumulate ? 6.0 : 5.0) : 2.0) + (out && !scale ? (dinp ? 2.0 : 1.0) : 0.0);
  prof::add_work((dinp ? 10.0 : 4.0) * double(N * C * HW), passes * double(N * C * HW) * sizeof(T));
  const Channels ch(C, N, HW);
  parallel_for("batch_norm2d_backward", ch.units, 1, [&](int64_t u0, int64_t u1) {
    std::vector<double> sum_dy(size_t(ch.block)), sum_dy_x(size_t(ch.block));
    std::vector<T> k(size_t(ch.block)), mdy(size_t(ch.block)), mdyx(size_t(ch.block));
    ch.each_block(u0, u1, [&](auto row_length, int64_t b0, int64_t b1) { src.with([&](auto source) {
      constexpr int64_t K = decltype(row_length)::value;
      constexpr Src S = decltype(source)::value;
      const T* y = S == Src::y ? out : dout;  // never read unless Src::y
      std::fill(sum_dy.begin(), sum_dy.end(), 0.0), std::fill(sum_dy_x.begin(), sum_dy_x.end(), 0.0);
      for (int64_t n = 0; n < N; ++n) {
        const int64_t at = n * C * HW;
        add_grad_sums<S, K>(sum_dy.data(), sum_dy_x.data(), dout + at, y + at, inp + at, slope, scale, shift, HW,
                            b0, b1);
      }
      // Training: dx = gamma*invstd * (dy - mean(dy) - xhat * mean(dy*xhat)); eval: gamma*invstd*dy.
      for (int64_t c = b0; c < b1; ++c) {
        const size_t i = size_t(c - b0);
        const common::BnBackward b =
            common::bn_backward_coeffs(sum_dy[i], sum_dy_x[i], mean[c], invstd[c], gamma[c], M, batch_stats);
        if (dgamma) dgamma[c] += T(b.dgamma);
        if (dbeta) dbeta[c] += T(b.dbeta);
        k[i] = T(b.k), mdy[i] = T(b.mdy), mdyx[i] = T(b.mdyx);
      }
      if (!dinp) return;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = b0; c < b1; ++c) {
          const size_t i = size_t(c - b0), at = size_t((n * C + c) * HW);
          row_dx<S, K>(dinp + at, dout + at, y + at, inp + at, slope, mean[c], invstd[c], k[i], mdy[i], mdyx[i], HW,
                       accumulate, S == Src::x ? scale[c] : T(0), S == Src::x ? shift[c] : T(0));
        }
    }); });
  });
}

#define CG_BN_INSTANTIATE(T)                                                                                 \
  template void batch_norm2d_forward_train<T>(T*, T*, T*, T*, T*, const T*, const T*, const T*, int64_t,      \
                                             int64_t, int64_t, double, double, T, T*, T*);                  \
  template void batch_norm2d_forward_eval<T>(T*, const T*, const T*, const T*, const T*, const T*, int64_t,   \
                                            int64_t, int64_t, double, T);                                   \
  template void batch_norm2d_eval_stats<T>(T*, T*, const T*, const T*, int64_t, double);                     \
  template void batch_norm2d_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*,        \
                                        int64_t, int64_t, int64_t, bool, double, const T*, T, bool, const T*,  \
                                        const T*);
CG_BN_INSTANTIATE(float)
CG_BN_INSTANTIATE(double)
#undef CG_BN_INSTANTIATE

}  // namespace cg::cpu
