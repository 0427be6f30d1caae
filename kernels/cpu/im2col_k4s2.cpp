// im2col / col2im for kernel 4, stride 2, padding 1 (see im2col_k4s2.h). With W = 2*OW,
// column entry (kw, ow) of an image row reads pixel 2*ow + kw - 1: kw = 1 and 2 are the
// row's even and odd pixels, kw = 0 and 3 the same shifted by one output column. So each
// col row is a stride-2 copy with at most one padded entry at an end, and a padded image
// row zeroes whole col rows: no per-element bounds tests, loops the compiler vectorises.
#include "kernels/cpu/im2col_k4s2.h"

#include <algorithm>

namespace cg::cpu {

namespace {

// The four col rows (kw = 0..3) of one (c, kh, oh) from image row src (W = 2*OW).
template <class T>
void expand_row(T* __restrict d0, T* __restrict d1, T* __restrict d2, T* __restrict d3, const T* __restrict src,
                int64_t OW) {
  d0[0] = T(0);
  for (int64_t i = 1; i < OW; ++i) d0[i] = src[2 * i - 1];
  for (int64_t i = 0; i < OW; ++i) d1[i] = src[2 * i];
  for (int64_t i = 0; i < OW; ++i) d2[i] = src[2 * i + 1];
  for (int64_t i = 0; i + 1 < OW; ++i) d3[i] = src[2 * i + 2];
  d3[OW - 1] = T(0);
}

// The col rows (kw = 0..3) of one (kh, oh) that land on an image row.
template <class T>
struct Group {
  const T* k[4];
};

// dst[x] += the group's terms for pixel x in the generic col2im order (kw ascending):
// x = 2i gets kw 1 (column i) then kw 3 (column i-1); x = 2i+1 gets kw 0 (column i+1)
// then kw 2 (column i). Checked version for the two end columns.
template <class T>
void add_edge(T* dst, const Group<T>* g, int ng, int64_t i, int64_t OW) {
  T e = dst[2 * i], o = dst[2 * i + 1];
  for (int j = 0; j < ng; ++j) {
    e += g[j].k[1][i];
    if (i >= 1) e += g[j].k[3][i - 1];
    if (i + 1 < OW) o += g[j].k[0][i + 1];
    o += g[j].k[2][i];
  }
  dst[2 * i] = e;
  dst[2 * i + 1] = o;
}

// One image row from one group (A) or two (A then B, as the generic loop's kh order).
template <class T, bool kTwo>
void add_row(T* __restrict dst, Group<T> a, Group<T> b, int64_t OW) {
  const Group<T> g[2] = {a, b};
  add_edge(dst, g, kTwo ? 2 : 1, 0, OW);
  for (int64_t i = 1; i + 1 < OW; ++i) {
    T e = dst[2 * i], o = dst[2 * i + 1];
    e += a.k[1][i];
    e += a.k[3][i - 1];
    o += a.k[0][i + 1];
    o += a.k[2][i];
    if constexpr (kTwo) {
      e += b.k[1][i];
      e += b.k[3][i - 1];
      o += b.k[0][i + 1];
      o += b.k[2][i];
    }
    dst[2 * i] = e;
    dst[2 * i + 1] = o;
  }
  if (OW > 1) add_edge(dst, g, kTwo ? 2 : 1, OW - 1, OW);
}

}  // namespace

template <class T>
void im2col_k4s2p1(T* col, int64_t ldc, const T* img, int64_t C, int64_t H, int64_t W, int64_t OH, int64_t OW) {
  for (int64_t c = 0; c < C; ++c)
    for (int64_t kh = 0; kh < 4; ++kh) {
      T* d = col + (c * 4 + kh) * 4 * ldc;
      for (int64_t oh = 0; oh < OH; ++oh) {
        const int64_t r = 2 * oh + kh - 1, o = oh * OW;
        if (r < 0 || r >= H) {
          for (int kw = 0; kw < 4; ++kw) std::fill_n(d + kw * ldc + o, OW, T(0));
          continue;
        }
        expand_row(d + o, d + ldc + o, d + 2 * ldc + o, d + 3 * ldc + o, img + (c * H + r) * W, OW);
      }
    }
}

template <class T>
void col2im_add_k4s2p1(T* img, const T* col, int64_t ldc, int64_t C, int64_t H, int64_t W, int64_t OH,
                       int64_t OW) {
  auto group = [&](int64_t c, int64_t kh, int64_t oh) {
    const T* base = col + (c * 4 + kh) * 4 * ldc + oh * OW;
    return Group<T>{{base, base + ldc, base + 2 * ldc, base + 3 * ldc}};
  };
  for (int64_t c = 0; c < C; ++c)
    for (int64_t m = 0; m < OH; ++m) {
      // Row 2m: kh 1 at oh m, then kh 3 at oh m-1 (absent for m = 0).
      T* even = img + (c * H + 2 * m) * W;
      if (m >= 1)
        add_row<T, true>(even, group(c, 1, m), group(c, 3, m - 1), OW);
      else
        add_row<T, false>(even, group(c, 1, m), group(c, 1, m), OW);
      // Row 2m+1: kh 0 at oh m+1 (absent for the last m), then kh 2 at oh m.
      T* odd = even + W;
      if (m + 1 < OH)
        add_row<T, true>(odd, group(c, 0, m + 1), group(c, 2, m), OW);
      else
        add_row<T, false>(odd, group(c, 2, m), group(c, 2, m), OW);
    }
}

template void im2col_k4s2p1<float>(float*, int64_t, const float*, int64_t, int64_t, int64_t, int64_t, int64_t);
template void im2col_k4s2p1<double>(double*, int64_t, const double*, int64_t, int64_t, int64_t, int64_t,
                                    int64_t);
template void col2im_add_k4s2p1<float>(float*, const float*, int64_t, int64_t, int64_t, int64_t, int64_t,
                                       int64_t);
template void col2im_add_k4s2p1<double>(double*, const double*, int64_t, int64_t, int64_t, int64_t, int64_t,
                                        int64_t);

}  // namespace cg::cpu
