// Pixel <-> float conversions shared by the CPU loops and the CUDA kernels: the
// paper's x/127.5 - 1 into [-1, 1], and back with rounding and clamping. Written so
// both sides round identically (a division, then one subtraction; an explicit fma).
#pragma once
#include <math.h>
#include <stdint.h>

#include "kernels/common/hd.h"

namespace cg::common {

template <class T>
CG_HD T pixel_to_unit(uint8_t x) {
  return static_cast<T>(x) / static_cast<T>(127.5) - static_cast<T>(1);
}

CG_HD float unit_fma_round(float x) { return ::floorf(::fmaf(x + 1.f, 127.5f, 0.5f)); }
CG_HD double unit_fma_round(double x) { return ::floor(::fma(x + 1.0, 127.5, 0.5)); }

// round((x + 1) * 127.5) clamped to [0, 255], halves rounding up; NaN gives 0.
template <class T>
CG_HD uint8_t unit_to_pixel(T x) {
  const T v = unit_fma_round(x);
  if (!(v > T(0))) return 0;
  if (v >= T(255)) return 255;
  return static_cast<uint8_t>(v);
}

}  // namespace cg::common
