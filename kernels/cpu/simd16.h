// 16-lane float vectors in GCC's vector extensions, for the CPU kernels written with them
// (the k4s2 register tile, the narrow linear layers, the batch norm's small planes):
// unaligned loads and stores, a way to keep a loaded vector in a register, and a 16x16
// transpose in registers.
#pragma once
#include <cstdint>
#include <cstring>

// Without AVX-512 (a portable build) the 64-byte vectors pass between the kernels' file-
// local functions in memory: a different ABI than with it, which nothing outside them sees.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace cg::cpu::simd16 {

using v16f = float __attribute__((vector_size(64)));
using v16i = int32_t __attribute__((vector_size(64)));

constexpr int kLanes = 16;

inline v16f loadu(const float* p) {
  v16f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline v16i loadu(const int32_t* p) {
  v16i v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void storeu(float* p, v16f v) { std::memcpy(p, &v, sizeof v); }

// v, which the compiler must now hold in a register. Without it GCC folds a loaded vector
// into each multiply-add that uses it as a memory operand, loading it again every time:
// a 4x4 tile (4 vectors loaded, each used 4 times) ran at 40 % of the core's peak that
// way, 90 % with it.
inline v16f in_register(v16f v) {
#if defined(__AVX512F__)
  asm("" : "+v"(v));
#endif
  return v;
}

// LeakyReLU's input gradient from its output a, lane by lane: dy where a > 0, slope * dy
// elsewhere (kernels/common/activations.h's leaky_relu_bwd_from_out, the same bits).
inline v16f leaky_grad(v16f dy, v16f a, float slope) {
  const v16f neg = slope * dy;
  return a > 0 ? dy : neg;
}

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

}  // namespace cg::cpu::simd16
