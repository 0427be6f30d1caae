// Dropout's scalar math, shared by the CPU loops and the CUDA kernel: whether element i
// survives is decided by Philox word (offset + i) of the stream alone, as an integer
// comparison, so both backends draw bit-identical masks for the same (seed, offset).
#pragma once
#include <stdint.h>

#include "kernels/common/hd.h"
#include "kernels/common/philox.h"

namespace cg::common {

// A word below the threshold drops its element: threshold = round(p * 2^32), so an
// element is dropped with probability p (to within 2^-32). p in [0, 1).
CG_HD uint32_t dropout_threshold(double p) {
  const double t = p * 4294967296.0 + 0.5;
  return t >= 4294967295.0 ? 0xFFFFFFFFu : static_cast<uint32_t>(t);
}

CG_HD bool dropout_keep(uint32_t word, uint32_t threshold) { return word >= threshold; }

// Survivors are scaled by 1/(1-p) ("inverted" dropout) so eval mode is the identity.
template <class T>
CG_HD T dropout_scale(double p) {
  return static_cast<T>(1.0 / (1.0 - p));
}

template <class T>
CG_HD T dropout_apply(T x, uint8_t keep, T scale) {
  const T y = x * scale;  // taken unconditionally so the CPU loop vectorises
  return keep ? y : T(0);
}

}  // namespace cg::common
