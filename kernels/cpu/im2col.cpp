// im2col / col2im, batch packing and the bias helpers shared by the CPU convolutions
// (see im2col.h). Each (c, kh, kw) row of col is a strided copy of the image; the valid
// output columns for a kernel offset are computed once so the inner loops carry no
// bounds tests. Loops over samples or channels are OpenMP-parallel when large enough.
#include "kernels/cpu/im2col.h"

#include <algorithm>
#include <vector>

#include "kernels/cpu/batchnorm2d_rows.h"
#include "kernels/cpu/im2col_k4s2.h"
#include "kernels/cpu/parallel.h"

namespace cg::cpu {

namespace {

constexpr int64_t kParallelMin = 65536;  // elements; smaller loops stay on one thread
int64_t g_chunk_budget = int64_t(1) << 24;  // scratch elements per batch chunk

// Output positions o in [lo, hi) whose input index o*stride - pad + k lies in [0, n).
struct Range {
  int64_t lo, hi;
};
Range valid_range(int64_t n, int64_t k, int64_t stride, int64_t pad, int64_t out) {
  const int64_t first = pad - k;  // need o*stride >= first
  int64_t lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  const int64_t last = n - 1 + pad - k;  // need o*stride <= last
  int64_t hi = last < 0 ? 0 : last / stride + 1;
  lo = std::min(lo, out);
  hi = std::clamp(hi, lo, out);
  return {lo, hi};
}

}  // namespace

template <class T>
void im2col(T* col, int64_t ldc, const T* img, int64_t C, int64_t H, int64_t W, int64_t K, int64_t stride,
            int64_t pad, int64_t OH, int64_t OW) {
  if (is_k4s2p1(H, W, K, stride, pad, OH, OW)) return im2col_k4s2p1(col, ldc, img, C, H, W, OH, OW);
  for (int64_t c = 0; c < C; ++c)
    for (int64_t kh = 0; kh < K; ++kh) {
      const Range rh = valid_range(H, kh, stride, pad, OH);
      for (int64_t kw = 0; kw < K; ++kw) {
        const Range rw = valid_range(W, kw, stride, pad, OW);
        T* dst = col + ((c * K + kh) * K + kw) * ldc;
        std::fill(dst, dst + rh.lo * OW, T(0));
        for (int64_t oh = rh.lo; oh < rh.hi; ++oh) {
          const T* src = img + (c * H + oh * stride - pad + kh) * W;
          T* row = dst + oh * OW;
          std::fill(row, row + rw.lo, T(0));
          for (int64_t ow = rw.lo; ow < rw.hi; ++ow) row[ow] = src[ow * stride + kw - pad];
          std::fill(row + rw.hi, row + OW, T(0));
        }
        std::fill(dst + rh.hi * OW, dst + OH * OW, T(0));
      }
    }
}

template <class T>
void col2im_add(T* img, const T* col, int64_t ldc, int64_t C, int64_t H, int64_t W, int64_t K, int64_t stride,
                int64_t pad, int64_t OH, int64_t OW) {
  if (is_k4s2p1(H, W, K, stride, pad, OH, OW)) return col2im_add_k4s2p1(img, col, ldc, C, H, W, OH, OW);
  for (int64_t c = 0; c < C; ++c)
    for (int64_t kh = 0; kh < K; ++kh) {
      const Range rh = valid_range(H, kh, stride, pad, OH);
      for (int64_t kw = 0; kw < K; ++kw) {
        const Range rw = valid_range(W, kw, stride, pad, OW);
        const T* src = col + ((c * K + kh) * K + kw) * ldc;
        for (int64_t oh = rh.lo; oh < rh.hi; ++oh) {
          T* dst = img + (c * H + oh * stride - pad + kh) * W;
          const T* row = src + oh * OW;
          for (int64_t ow = rw.lo; ow < rw.hi; ++ow) dst[ow * stride + kw - pad] += row[ow];
        }
      }
    }
}

template <class T>
void im2col_batch(T* col, const T* img, int64_t nb, int64_t C, int64_t H, int64_t W, int64_t K, int64_t stride,
                  int64_t pad, int64_t OH, int64_t OW) {
  if (is_k4s2p1(H, W, K, stride, pad, OH, OW)) return im2col_k4s2p1_batch(col, img, nb, C, H, W, OH, OW);
  const int64_t L = OH * OW;
  parallel_each_if(nb * C * K * K * L > kParallelMin, nb,
                   [&](int64_t j) { im2col(col + j * L, nb * L, img + j * C * H * W, C, H, W, K, stride, pad, OH, OW); });
}

template <class T>
void col2im_add_batch(T* img, const T* col, int64_t nb, int64_t C, int64_t H, int64_t W, int64_t K, int64_t stride,
                      int64_t pad, int64_t OH, int64_t OW, bool accumulate) {
  if (is_k4s2p1(H, W, K, stride, pad, OH, OW))
    return col2im_add_k4s2p1_batch(img, col, nb, C, H, W, OH, OW, accumulate);
  if (!accumulate) std::fill(img, img + nb * C * H * W, T(0));  // the generic loops only add
  const int64_t L = OH * OW;
  parallel_each_if(nb * C * K * K * L > kParallelMin, nb, [&](int64_t j) {
    col2im_add(img + j * C * H * W, col + j * L, nb * L, C, H, W, K, stride, pad, OH, OW);
  });
}

template <class T>
void pack_batch(T* dst, const T* src, int64_t nb, int64_t C, int64_t L) {
  parallel_each_if(nb * C * L > kParallelMin, nb * C, [&](int64_t jc) {
    const int64_t j = jc / C, c = jc % C;
    std::copy_n(src + (j * C + c) * L, L, dst + c * nb * L + j * L);
  });
}

template <class T>
void unpack_batch_add(T* dst, const T* src, int64_t nb, int64_t C, int64_t L, bool accumulate) {
  parallel_each_if(nb * C * L > kParallelMin, nb * C, [&](int64_t jc) {
    const int64_t j = jc / C, c = jc % C;
    T* d = dst + (j * C + c) * L;
    const T* s = src + c * nb * L + j * L;
    if (accumulate)
      for (int64_t l = 0; l < L; ++l) d[l] += s[l];
    else
      std::copy_n(s, L, d);
  });
}

template <class T>
void unpack_batch_bias(T* dst, const T* src, const T* bias, int64_t nb, int64_t C, int64_t L) {
  parallel_each_if(nb * C * L > kParallelMin, nb * C, [&](int64_t jc) {
    const int64_t j = jc / C, c = jc % C;
    T* d = dst + (j * C + c) * L;
    const T* s = src + c * nb * L + j * L;
    const T b = bias ? bias[c] : T(0);
    for (int64_t l = 0; l < L; ++l) d[l] = b + s[l];
  });
}

template <class T>
void fill_bias(T* out, const T* bias, int64_t N, int64_t OC, int64_t L) {
  parallel_each_if(N * OC * L > kParallelMin, N * OC, [&](int64_t no) {
    T* p = out + no * L;
    std::fill(p, p + L, bias ? bias[no % OC] : T(0));
  });
}

// dbias[o] += the sum over samples n of row(n, o), the rows' sums added in double in sample
// order: each channel gets one sum in a fixed order whatever the thread count (the bits of
// a loop over channels, rows in sample order). The samples are split over the pool, each
// unit reading its samples' OC rows front to back, and the channels' sums formed after.
// Split by channel instead, the 3-channel layers (G.deconv4) kept 3 units for the threads,
// and each unit walked rows C*L apart: from cold caches 0.18-0.19 ms against 0.26-0.39 at
// G.deconv4's gradient (batch 64), 0.43-0.51 against 0.47-0.60 at D.conv1's leaky one
// (base 32); in the whole iteration, within its noise.
template <class T, class Row>
void bias_grad_rows(T* dbias, int64_t N, int64_t OC, int64_t L, const Row& row) {
  std::vector<double> part(size_t(N * OC));
  parallel_each_if(N * OC * L > kParallelMin, N, [&](int64_t n) {
    for (int64_t o = 0; o < OC; ++o) part[size_t(n * OC + o)] = row(n, o);
  });
  for (int64_t o = 0; o < OC; ++o) {
    double s = 0;
    for (int64_t n = 0; n < N; ++n) s += part[size_t(n * OC + o)];
    dbias[o] += T(s);
  }
}

template <class T>
void bias_grad_add(T* dbias, const T* dout, int64_t N, int64_t OC, int64_t L) {
  // Each row summed in 16 lanes of T (bn_rows::lane_sum16). A plain running sum in T
  // cannot vectorise (the adds must stay in order) and took 1 % of the 64x64 iteration at
  // D.conv1's 8 MiB gradient.
  bias_grad_rows(dbias, N, OC, L,
                 [&](int64_t n, int64_t o) { return bn_rows::row_sum_lanes(dout + (n * OC + o) * L, L); });
}

template <class T>
void bias_grad_add_leaky(T* dbias, const T* dout, const T* act, T slope, int64_t N, int64_t OC, int64_t L) {
  bias_grad_rows(dbias, N, OC, L, [&](int64_t n, int64_t o) {
    return bn_rows::row_sum_leaky(dout + (n * OC + o) * L, act + (n * OC + o) * L, slope, L);
  });
}

int64_t batch_chunk(int64_t N, int64_t per_sample) {
  const int64_t fit = std::clamp<int64_t>(g_chunk_budget / std::max<int64_t>(per_sample, 1), 1, std::max<int64_t>(N, 1));
  // Equal chunks: 32 samples that fit 28 at a time run as 16 + 16, not 28 + a narrow 4.
  const int64_t chunks = (N + fit - 1) / fit;
  return chunks > 0 ? (N + chunks - 1) / chunks : fit;
}

int64_t set_batch_chunk_budget(int64_t elems) {
  const int64_t old = g_chunk_budget;
  g_chunk_budget = std::max<int64_t>(elems, 1);
  return old;
}

#define CG_IM2COL_INSTANTIATE(T)                                                                                 \
  template void im2col<T>(T*, int64_t, const T*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, \
                          int64_t);                                                                             \
  template void col2im_add<T>(T*, const T*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,     \
                              int64_t, int64_t);                                                                \
  template void im2col_batch<T>(T*, const T*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,    \
                                int64_t, int64_t);                                                              \
  template void col2im_add_batch<T>(T*, const T*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, \
                                    int64_t, int64_t, bool);                                                    \
  template void pack_batch<T>(T*, const T*, int64_t, int64_t, int64_t);                                        \
  template void unpack_batch_add<T>(T*, const T*, int64_t, int64_t, int64_t, bool);                            \
  template void unpack_batch_bias<T>(T*, const T*, const T*, int64_t, int64_t, int64_t);                     \
  template void fill_bias<T>(T*, const T*, int64_t, int64_t, int64_t);                                         \
  template void bias_grad_add<T>(T*, const T*, int64_t, int64_t, int64_t);                                      \
  template void bias_grad_add_leaky<T>(T*, const T*, const T*, T, int64_t, int64_t, int64_t);
CG_IM2COL_INSTANTIATE(float)
CG_IM2COL_INSTANTIATE(double)
#undef CG_IM2COL_INSTANTIATE

}  // namespace cg::cpu
