// bfloat16 as both backends store it: the top 16 bits of an IEEE float (8-bit exponent,
// 7-bit mantissa). A storage type only: math widens to float. float -> bf16 rounds to
// nearest, ties to even (as __float2bfloat16_rn), NaN stays a quiet NaN.
#pragma once
#include <stdint.h>
#include <string.h>

#include "kernels/common/hd.h"

namespace cg {

// Layout-compatible with CUDA's __nv_bfloat16; cuDNN and cuBLAS see it as CUDNN_DATA_BFLOAT16 / CUDA_R_16BF.
struct bf16 {
  uint16_t bits;
};

namespace common {

CG_HD uint32_t float_to_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
#endif
}

CG_HD float bits_to_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  memcpy(&f, &u, 4);
  return f;
#endif
}

CG_HD float bf16_to_float(bf16 h) { return bits_to_float(uint32_t(h.bits) << 16); }

CG_HD bf16 float_to_bf16(float f) {
  uint32_t u = float_to_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bf16{uint16_t((u >> 16) | 0x40u)};  // NaN: keep it quiet
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest, ties to even (overflow rounds to infinity)
  return bf16{uint16_t(u >> 16)};
}

// Loads and stores that widen to float and narrow back, so one kernel template serves
// float and bf16 tensors.
CG_HD float to_float(float x) { return x; }
CG_HD float to_float(bf16 x) { return bf16_to_float(x); }
template <class T>
CG_HD T from_float(float x);
template <>
CG_HD float from_float<float>(float x) { return x; }
template <>
CG_HD bf16 from_float<bf16>(float x) { return float_to_bf16(x); }

}  // namespace common
}  // namespace cg
