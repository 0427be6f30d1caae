// im2col / col2im for kernel 4, stride 2, padding 1 (see im2col_k4s2.h), through the
// image's four phase planes P[a][b][i][j] = img[2i+a][2j+b], each (OH,OW). Tap kh reads
// image row 2*oh+kh-1 = 2*(oh+di)+a with (a,di) = (1,-1), (0,0), (1,0), (0,+1) for kh = 0..3,
// and the same for kw and columns. So col row (kh,kw), flattened over q = oh*OW+ow, is
// phase plane (a,b) read at q + di*OW + dj: one contiguous shifted copy of L = OH*OW
// entries, with the taps that fall into the padding masked to 0. Every loop is a plain
// contiguous one the compiler vectorises, however narrow the image (OW = 4 at the deepest
// layer); the phase planes of one channel sit in a small per-thread buffer.
#include "kernels/cpu/im2col_k4s2.h"

#include <algorithm>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace cg::cpu {

namespace {

constexpr int kPhase[4] = {1, 0, 1, 0};   // a (or b) of tap kh (or kw)
constexpr int kShift[4] = {-1, 0, 0, 1};  // di (or dj) of tap kh (or kw)

// Per-thread scratch: the four phase planes of one channel, and the column masks.
template <class T>
struct Planes {
  std::vector<T> p;            // (4, L): plane a*2+b at p + (a*2+b)*L
  std::vector<T> left, right;  // left[q] = 1 where ow != 0, right[q] = 1 where ow != OW-1; else 0
  int64_t L = -1, OW = -1;
  void shape(int64_t OH, int64_t ow) {
    if (L == OH * ow && OW == ow) return;
    L = OH * ow, OW = ow;
    p.assign(size_t(4 * L), T(0));
    left.resize(size_t(L)), right.resize(size_t(L));
    for (int64_t q = 0; q < L; ++q) left[size_t(q)] = T(q % OW != 0), right[size_t(q)] = T(q % OW != OW - 1);
  }
  const T* mask(int dj) const { return dj < 0 ? left.data() : right.data(); }
};

template <class T>
Planes<T>& planes(int64_t OH, int64_t OW) {
  thread_local Planes<T> pl;
  pl.shape(OH, OW);
  return pl;
}

// The contiguous range [lo, hi) of q whose tap row is inside the image and whose shifted
// index q + s stays in the plane; entries outside it are padding (or masked columns).
struct Span {
  int64_t lo, hi, s;
};
Span span(int kh, int kw, int64_t OH, int64_t OW) {
  const int64_t L = OH * OW, di = kShift[kh], dj = kShift[kw], s = di * OW + dj;
  int64_t lo = di < 0 ? OW : 0, hi = di > 0 ? (OH - 1) * OW : L;
  lo = std::min(std::max(lo, -s), L), hi = std::min(hi, L - s);  // a 2x2 image: lo may pass L
  return {lo, std::max(lo, hi), s};
}

// dst[q] = plane[q + s] on the span (masked columns 0), 0 elsewhere.
template <class T>
void shifted_copy(T* __restrict dst, const T* __restrict plane, Span sp, int dj, const T* __restrict mask,
                  int64_t L) {
  std::fill(dst, dst + sp.lo, T(0));
  const T* __restrict src = plane + sp.s;
  if (dj == 0) {
    std::copy(src + sp.lo, src + sp.hi, dst + sp.lo);
  } else {
    for (int64_t q = sp.lo; q < sp.hi; ++q) dst[q] = mask[q] != T(0) ? src[q] : T(0);
  }
  std::fill(dst + sp.hi, dst + L, T(0));
}

// plane[q + s] += src[q] on the span, skipping masked columns (a select, not + 0, so a -0
// pixel keeps its sign as in the generic loop).
template <class T>
void shifted_add(T* __restrict plane, const T* __restrict src, Span sp, int dj, const T* __restrict mask) {
  T* __restrict dst = plane + sp.s;
  if (dj == 0) {
    for (int64_t q = sp.lo; q < sp.hi; ++q) dst[q] += src[q];
  } else {
    for (int64_t q = sp.lo; q < sp.hi; ++q) {
      const T v = dst[q] + src[q];
      dst[q] = mask[q] != T(0) ? v : dst[q];
    }
  }
}

// The 16 col rows of one channel plane (rows r at col + r*ldc).
template <class T>
void im2col_plane(T* col, int64_t ldc, const T* img, int64_t OH, int64_t OW) {
  Planes<T>& pl = planes<T>(OH, OW);
  const int64_t L = OH * OW;
  split_phases(pl.p.data(), img, OH, OW);
  for (int kh = 0; kh < 4; ++kh)
    for (int kw = 0; kw < 4; ++kw) {
      const T* plane = pl.p.data() + (kPhase[kh] * 2 + kPhase[kw]) * L;
      shifted_copy(col + (kh * 4 + kw) * ldc, plane, span(kh, kw, OH, OW), kShift[kw], pl.mask(kShift[kw]), L);
    }
}

// One channel plane += its 16 col rows (= with accumulate false). Each pixel receives its terms in the generic
// loop's (kh, kw) order: the taps are visited in that order and each adds into the one
// phase plane it reaches.
template <class T>
void col2im_plane(T* img, const T* col, int64_t ldc, int64_t OH, int64_t OW, bool accumulate) {
  Planes<T>& pl = planes<T>(OH, OW);
  const int64_t L = OH * OW;
  if (accumulate)
    split_phases(pl.p.data(), img, OH, OW);
  else
    std::fill(pl.p.begin(), pl.p.end(), T(0));  // img is not read: a fresh buffer is assigned
  for (int kh = 0; kh < 4; ++kh)
    for (int kw = 0; kw < 4; ++kw) {
      T* plane = pl.p.data() + (kPhase[kh] * 2 + kPhase[kw]) * L;
      shifted_add(plane, col + (kh * 4 + kw) * ldc, span(kh, kw, OH, OW), kShift[kw], pl.mask(kShift[kw]));
    }
  merge_phases(img, pl.p.data(), OH, OW);
}

constexpr int64_t kSampleBlock = 8;      // samples per work unit of the batch loops
constexpr int64_t kParallelMin = 65536;  // col entries; fewer stay on one thread

// Channels outside, samples inside: a thread writes each of its channel's 16 col rows
// as one long run across the samples (16 streams), where samples outside would scatter
// every sample's writes over all C*16 rows. 1.5-3x faster at the GAN's shapes.
// f(col rows of (n, c), image plane of (n, c)) for every sample n and channel c.
template <class F>
void for_each_plane(int64_t nb, int64_t C, int64_t HW, int64_t L, F f) {
  const int64_t ldc = nb * L, blocks = (nb + kSampleBlock - 1) / kSampleBlock;
  const int64_t units = C * blocks;
  parallel_for(nullptr, units, nb * C * 16 * L > kParallelMin ? 1 : units,
               [&](int64_t u0, int64_t u1) {
                 for (int64_t u = u0; u < u1; ++u) {
                   const int64_t c = u / blocks, b = u % blocks;
                   for (int64_t n = b * kSampleBlock; n < std::min(nb, (b + 1) * kSampleBlock); ++n)
                     f(c * 16 * ldc + n * L, (n * C + c) * HW);
                 }
               });
}

}  // namespace

template <class T>
void split_phases(T* __restrict p, const T* __restrict img, int64_t OH, int64_t OW) {
  const int64_t L = OH * OW, W = 2 * OW;
  for (int64_t i = 0; i < OH; ++i)
    for (int a = 0; a < 2; ++a) {
      const T* __restrict row = img + (2 * i + a) * W;
      T* __restrict p0 = p + (a * 2) * L + i * OW;
      T* __restrict p1 = p0 + L;
      for (int64_t j = 0; j < OW; ++j) p0[j] = row[2 * j], p1[j] = row[2 * j + 1];
    }
}

template <class T>
void merge_phases(T* __restrict img, const T* __restrict p, int64_t OH, int64_t OW) {
  const int64_t L = OH * OW, W = 2 * OW;
  for (int64_t i = 0; i < OH; ++i)
    for (int a = 0; a < 2; ++a) {
      T* __restrict row = img + (2 * i + a) * W;
      const T* __restrict p0 = p + (a * 2) * L + i * OW;
      const T* __restrict p1 = p0 + L;
      for (int64_t j = 0; j < OW; ++j) row[2 * j] = p0[j], row[2 * j + 1] = p1[j];
    }
}

template <class T>
void im2col_k4s2p1(T* col, int64_t ldc, const T* img, int64_t C, int64_t H, int64_t W, int64_t OH, int64_t OW) {
  for (int64_t c = 0; c < C; ++c) im2col_plane(col + c * 16 * ldc, ldc, img + c * H * W, OH, OW);
}

template <class T>
void col2im_add_k4s2p1(T* img, const T* col, int64_t ldc, int64_t C, int64_t H, int64_t W, int64_t OH,
                       int64_t OW) {
  for (int64_t c = 0; c < C; ++c) col2im_plane(img + c * H * W, col + c * 16 * ldc, ldc, OH, OW, true);
}

template <class T>
void im2col_k4s2p1_batch(T* col, const T* img, int64_t nb, int64_t C, int64_t H, int64_t W, int64_t OH,
                         int64_t OW) {
  for_each_plane(nb, C, H * W, OH * OW, [&](int64_t at_col, int64_t at_img) {
    im2col_plane(col + at_col, nb * OH * OW, img + at_img, OH, OW);
  });
}

template <class T>
void col2im_add_k4s2p1_batch(T* img, const T* col, int64_t nb, int64_t C, int64_t H, int64_t W, int64_t OH,
                             int64_t OW, bool accumulate) {
  for_each_plane(nb, C, H * W, OH * OW, [&](int64_t at_col, int64_t at_img) {
    col2im_plane(img + at_img, col + at_col, nb * OH * OW, OH, OW, accumulate);
  });
}

template void split_phases<float>(float*, const float*, int64_t, int64_t);
template void split_phases<double>(double*, const double*, int64_t, int64_t);
template void merge_phases<float>(float*, const float*, int64_t, int64_t);
template void merge_phases<double>(double*, const double*, int64_t, int64_t);
template void im2col_k4s2p1<float>(float*, int64_t, const float*, int64_t, int64_t, int64_t, int64_t, int64_t);
template void im2col_k4s2p1<double>(double*, int64_t, const double*, int64_t, int64_t, int64_t, int64_t,
                                    int64_t);
template void col2im_add_k4s2p1<float>(float*, const float*, int64_t, int64_t, int64_t, int64_t, int64_t,
                                       int64_t);
template void col2im_add_k4s2p1<double>(double*, const double*, int64_t, int64_t, int64_t, int64_t, int64_t,
                                        int64_t);
template void im2col_k4s2p1_batch<float>(float*, const float*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t);
template void im2col_k4s2p1_batch<double>(double*, const double*, int64_t, int64_t, int64_t, int64_t, int64_t,
                                          int64_t);
template void col2im_add_k4s2p1_batch<float>(float*, const float*, int64_t, int64_t, int64_t, int64_t, int64_t,
                                             int64_t, bool);
template void col2im_add_k4s2p1_batch<double>(double*, const double*, int64_t, int64_t, int64_t, int64_t, int64_t,
                                              int64_t, bool);

}  // namespace cg::cpu
