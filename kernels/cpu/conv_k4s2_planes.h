// Helpers shared by the k4s2 kernels that read bordered phase planes or transpose 16x16
// blocks in registers (the forward and both weight gradients): a two-source permute, the
// register transpose, each tap's offset in a PaddedGrid and the split into one.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>

#include "kernels/cpu/conv_k4s2_tile.h"

namespace cg::cpu::k4s2 {

// r[j] = idx[j] < 16 ? a[idx[j]] : c[idx[j] - 16]: one two-source permute (vpermt2ps).
// Clang has no __builtin_shuffle with a mask vector; its element loop serves the fuzz
// build, which is about correctness.
inline v16f shuffle2(v16f a, v16f c, v16i idx) {
#if defined(__clang__)
  v16f r;
  for (int j = 0; j < 16; ++j) r[j] = idx[j] < 16 ? a[idx[j]] : c[idx[j] - 16];
  return r;
#else
  return __builtin_shuffle(a, c, idx);
#endif
}

// One stage of transpose16: swaps bit `bit` of the row and column indices between each
// pair of rows (i, i|bit): lo[j] takes row (j's bit) at column j with the bit cleared,
// hi[j] the same with it set.
template <int bit>
inline void transpose_stage(v16f* rows, v16i lo, v16i hi) {
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i)
    if (!(i & bit)) {
      const v16f a = rows[i], c = rows[i | bit];
      rows[i] = shuffle2(a, c, lo);
      rows[i | bit] = shuffle2(a, c, hi);
    }
}

// rows[i] = column i of the 16x16 block held in rows: 64 two-source shuffles in registers.
inline void transpose16(v16f* rows) {
  constexpr v16i lo0 = {0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30};
  constexpr v16i hi0 = {1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31};
  constexpr v16i lo1 = {0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29};
  constexpr v16i hi1 = {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31};
  constexpr v16i lo2 = {0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27};
  constexpr v16i hi2 = {4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31};
  constexpr v16i lo3 = {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23};
  constexpr v16i hi3 = {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31};
  transpose_stage<1>(rows, lo0, hi0);
  transpose_stage<2>(rows, lo1, hi1);
  transpose_stage<4>(rows, lo2, hi2);
  transpose_stage<8>(rows, lo3, hi3);
}

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
