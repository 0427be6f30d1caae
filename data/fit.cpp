// Centre crop + separable area/bilinear resize (data/fit.h). The horizontal pass
// runs first, into float rows of the output width, so the costly pass reads each
// source byte once; nothing is rounded until the final 8-bit store.
#include "data/fit.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

namespace cg::data {

AxisTaps make_taps(int src, int dst) {
  CG_CHECK(src > 0 && dst > 0, "make_taps: sizes must be positive, got ", src, " -> ", dst);
  AxisTaps t;
  t.first.resize(size_t(dst));
  t.count.resize(size_t(dst));
  t.offset.resize(size_t(dst));
  if (src >= dst) {
    // Output o covers source [o*src/dst, (o+1)*src/dst); each pixel weighs its coverage.
    const double scale = double(src) / dst;
    for (int o = 0; o < dst; ++o) {
      const double a = double(o) * src / dst, b = double(o + 1) * src / dst;
      const int k0 = int(std::floor(a));
      const int k1 = std::min(src, int(std::ceil(b)));
      t.first[size_t(o)] = k0;
      t.offset[size_t(o)] = int(t.w.size());
      int n = 0;
      for (int k = k0; k < k1; ++k) {
        const double cover = std::min(b, double(k + 1)) - std::max(a, double(k));
        if (cover <= 1e-12) continue;
        if (n == 0) t.first[size_t(o)] = k;
        t.w.push_back(float(cover / scale));
        ++n;
      }
      t.count[size_t(o)] = n;
    }
  } else {
    for (int o = 0; o < dst; ++o) {
      double x = (o + 0.5) * src / dst - 0.5;
      x = std::clamp(x, 0.0, double(src - 1));
      const int i0 = int(std::floor(x));
      const double f = x - i0;
      t.first[size_t(o)] = i0;
      t.offset[size_t(o)] = int(t.w.size());
      if (i0 + 1 < src && f > 0) {
        t.w.push_back(float(1 - f));
        t.w.push_back(float(f));
        t.count[size_t(o)] = 2;
      } else {
        t.w.push_back(1.0f);
        t.count[size_t(o)] = 1;
      }
    }
  }
  return t;
}

namespace {

// One source row (stride in elements between pixels = C) filtered horizontally into dst (ow*C).
template <class T, int C>
void filter_row(float* dst, const T* row, const AxisTaps& tx, int ow) {
  for (int o = 0; o < ow; ++o) {
    const T* p = row + size_t(tx.first[size_t(o)]) * C;
    const float* w = tx.w.data() + tx.offset[size_t(o)];
    float acc[C] = {};
    for (int k = 0; k < tx.count[size_t(o)]; ++k, p += C)
      for (int c = 0; c < C; ++c) acc[c] += w[k] * float(p[c]);
    for (int c = 0; c < C; ++c) dst[o * C + c] = acc[c];
  }
}

// src rows (y0 .. y0+rows) of a (.., stride) image, starting at column x0, resized to (oh, ow, C).
template <class T, int C, class Store>
void resize_generic(int ow, int oh, const T* src, size_t stride, int x0, int y0, int sw, int sh, Store store) {
  const AxisTaps tx = make_taps(sw, ow), ty = make_taps(sh, oh);
  // Only the source rows some output reads get filtered horizontally.
  std::vector<float> tmp(size_t(sh) * size_t(ow) * C);
  std::vector<char> done(size_t(sh), 0);
  std::vector<float> acc(size_t(ow) * C);
  for (int o = 0; o < oh; ++o) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    const float* w = ty.w.data() + ty.offset[size_t(o)];
    for (int k = 0; k < ty.count[size_t(o)]; ++k) {
      const int y = ty.first[size_t(o)] + k;
      float* trow = tmp.data() + size_t(y) * size_t(ow) * C;
      if (!done[size_t(y)]) {
        filter_row<T, C>(trow, src + size_t(y0 + y) * stride + size_t(x0) * C, tx, ow);
        done[size_t(y)] = 1;
      }
      for (size_t i = 0; i < acc.size(); ++i) acc[i] += w[k] * trow[i];
    }
    store(o, acc.data());
  }
}

inline uint8_t to_u8(float v) {
  v = std::clamp(v, 0.0f, 255.0f);
  return uint8_t(v + 0.5f);
}

}  // namespace

void fit_square(uint8_t* out, int size, const uint8_t* rgb, int width, int height) {
  CG_CHECK(size > 0 && width > 0 && height > 0, "fit_square: bad sizes ", width, "x", height, " -> ", size);
  const int m = std::min(width, height);
  const int x0 = (width - m) / 2, y0 = (height - m) / 2;
  const size_t row_out = size_t(size) * 3;
  resize_generic<uint8_t, 3>(size, size, rgb, size_t(width) * 3, x0, y0, m, m, [&](int o, const float* acc) {
    uint8_t* d = out + size_t(o) * row_out;
    for (size_t i = 0; i < row_out; ++i) d[i] = to_u8(acc[i]);
  });
}

Image fit_square(const Image& src, int size) {
  CG_CHECK(src.rgb.size() == size_t(src.width) * size_t(src.height) * 3, "fit_square: image buffer holds ",
           src.rgb.size(), " bytes for ", src.width, "x", src.height);
  Image out;
  out.width = out.height = size;
  out.rgb.resize(size_t(size) * size_t(size) * 3);
  fit_square(out.rgb.data(), size, src.rgb.data(), src.width, src.height);
  return out;
}

void resize_float(float* out, int ow, int oh, const float* src, int w, int h, int channels) {
  CG_CHECK(channels == 1 || channels == 3, "resize_float: channels must be 1 or 3, got ", channels);
  auto run = [&](auto tag) {
    constexpr int C = decltype(tag)::value;
    resize_generic<float, C>(ow, oh, src, size_t(w) * C, 0, 0, w, h, [&](int o, const float* acc) {
      std::copy(acc, acc + size_t(ow) * C, out + size_t(o) * size_t(ow) * C);
    });
  };
  if (channels == 1)
    run(std::integral_constant<int, 1>{});
  else
    run(std::integral_constant<int, 3>{});
}

}  // namespace cg::data
