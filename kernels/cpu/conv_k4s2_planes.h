// Helpers shared by the k4s2 kernels that read bordered phase planes (the forward and both
// weight gradients): each tap's offset in a PaddedGrid and the split into one. The register
// transpose they use is simd16.h's.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>

#include "kernels/cpu/conv_k4s2_tile.h"

namespace cg::cpu::k4s2 {

using simd16::shuffle2;
using simd16::transpose16;

// One sample's phase planes, each a PaddedGrid (conv_k4s2_tile.h, rows of whole vectors):
// channel c's plane (a, b) holds img[c][2i+a][2j+b] at its pixel (i, j), 4 planes a channel.
// Tap t = kh*4+kw of an output pixel reads its channel's planes off[t] from the pixel's own
// place in plane 0.
inline std::array<int64_t, 16> tap_offsets(const PaddedGrid& g) {
  std::array<int64_t, 16> off{};
  for (int t = 0; t < 16; ++t) {
    const int kh = t >> 2, kw = t & 3;
    off[size_t(t)] = (kPhase[kh] * 2 + kPhase[kw]) * g.plane + kShift[kh] * g.ld + kShift[kw];
  }
  return off;
}

// dst (C, 4 planes) = one sample's bordered planes, img (C, 2*OH, 2*OW): each pair of
// input vectors split into its even and odd pixels by two permutes, the border zeroed.
inline void split_padded(float* __restrict dst, const float* __restrict img, int64_t C, const PaddedGrid& g) {
  constexpr v16i even = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
  constexpr v16i odd = {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31};
  const int64_t W = 2 * g.OW;
  for (int64_t c = 0; c < C; ++c) {
    for (int p = 0; p < 4; ++p) {
      float* q = dst + (c * 4 + p) * g.plane;
      std::fill(q, q + g.ld, 0.0f);
      std::fill(q + (g.OH + 1) * g.ld, q + g.plane, 0.0f);
    }
    for (int64_t ih = 0; ih < 2 * g.OH; ++ih) {
      const float* src = img + (c * 2 * g.OH + ih) * W;
      float* p0 = dst + (c * 4 + (ih & 1) * 2) * g.plane + (ih / 2 + 1) * g.ld;
      float* p1 = p0 + g.plane;
      p0[0] = p0[g.OW + 1] = p1[0] = p1[g.OW + 1] = 0.0f;
      for (int64_t j = 0; j < g.OW; j += kLanes) {
        const v16f a = loadu(src + 2 * j), b = loadu(src + 2 * j + kLanes);
        storeu(p0 + 1 + j, shuffle2(a, b, even));
        storeu(p1 + 1 + j, shuffle2(a, b, odd));
      }
    }
  }
}

}  // namespace cg::cpu::k4s2
