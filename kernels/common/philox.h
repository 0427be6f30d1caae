// Philox4x32-10 (Salmon, Moraes, Dror & Shaw 2011; Random123) and the mappings
// from its 32-bit words to uniforms and normals, shared by the CPU fills and the
// CUDA kernels so both produce the same numbers for the same (seed, offset).
//
// Stream layout. Draw number p (p = offset + i for element i of a fill) is word
// p % 4 of the block philox(counter = {lo32(p/4), hi32(p/4), 0, 0},
// key = {lo32(seed), hi32(seed)}).
//
// Exact mappings (all CPU/GPU bit-identical unless noted):
//  - raw:           the 32-bit word u itself.
//  - uniform f32:   float(u >> 8) * 2^-24 in [0, 1) (exact: 24-bit integer times a power
//                   of two), then fmaf(x, scale, lo) with scale = float(hi - lo) and
//                   lo = float(lo): one correctly rounded fused op on both sides, so no
//                   compiler contraction choice can make them differ. Can reach hi only
//                   by rounding.
//  - uniform f64:   double(u) * 2^-32 in [0, 1), then fma(x, hi - lo, lo) (CPU only).
//  - normal:        Box-Muller on the pair of words {p & ~1, p | 1} within the block:
//                   u1 = (w[2k] + 0.5) * 2^-32 in (0, 1), u2 = w[2k+1] * 2^-32,
//                   r = sqrt(-2 log u1), theta = 2 pi u2; an even draw takes r cos theta,
//                   an odd one r sin theta; then fma(z, std, mean), all in double, and an
//                   f32 fill rounds that to float. log/sin/cos in CUDA's libdevice and in
//                   glibc may differ in the last double ulp, so after rounding an f32 normal
//                   can (rarely) differ by 1 float ulp between CPU and GPU; raw words and
//                   uniforms never differ.
#pragma once
#include <math.h>
#include <stdint.h>

#include "kernels/common/hd.h"

namespace cg::common {

constexpr uint32_t kPhiloxM0 = 0xD2511F53u, kPhiloxM1 = 0xCD9E8D57u;
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u, kPhiloxW1 = 0xBB67AE85u;  // key bumps (golden ratio, sqrt(3)-1)

CG_HD void philox_mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t p = static_cast<uint64_t>(a) * static_cast<uint64_t>(b);
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

// One Philox round on counter c with round key k (Random123's philox4x32round).
CG_HD void philox_round(uint32_t c[4], const uint32_t k[2]) {
  uint32_t hi0, lo0, hi1, lo1;
  philox_mulhilo(kPhiloxM0, c[0], hi0, lo0);
  philox_mulhilo(kPhiloxM1, c[2], hi1, lo1);
  const uint32_t c1 = c[1], c3 = c[3];
  c[0] = hi1 ^ c1 ^ k[0];
  c[1] = lo1;
  c[2] = hi0 ^ c3 ^ k[1];
  c[3] = lo0;
}

// out = philox4x32_10(ctr, key): ten rounds, the key bumped between rounds.
CG_HD void philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
  uint32_t c[4] = {ctr[0], ctr[1], ctr[2], ctr[3]};
  uint32_t k[2] = {key[0], key[1]};
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k[0] += kPhiloxW0;
      k[1] += kPhiloxW1;
    }
    philox_round(c, k);
  }
  for (int i = 0; i < 4; ++i) out[i] = c[i];
}

// The four words of block n of the stream for seed (see the layout above).
CG_HD void philox_block(uint64_t seed, uint64_t n, uint32_t out[4]) {
  const uint32_t ctr[4] = {static_cast<uint32_t>(n), static_cast<uint32_t>(n >> 32), 0u, 0u};
  const uint32_t key[2] = {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  philox4x32_10(ctr, key, out);
}

// [0, 1) with 24 random bits: exactly representable, identical everywhere.
CG_HD float u32_to_uniform_float(uint32_t u) { return static_cast<float>(u >> 8) * 0x1p-24f; }
// [0, 1) with 32 random bits (exact in double).
CG_HD double u32_to_uniform_double(uint32_t u) { return static_cast<double>(u) * 0x1p-32; }
// (0, 1): never 0, so its log is finite.
CG_HD double u32_to_open_double(uint32_t u) { return (static_cast<double>(u) + 0.5) * 0x1p-32; }

// lo + scale * uniform, rounded once.
CG_HD float uniform_float(uint32_t u, float lo, float scale) { return ::fmaf(u32_to_uniform_float(u), scale, lo); }
CG_HD double uniform_double(uint32_t u, double lo, double scale) {
  return ::fma(u32_to_uniform_double(u), scale, lo);
}

// Standard normal for word `word` (0..3) of a block w, by Box-Muller on its pair.
CG_HD double philox_std_normal(const uint32_t w[4], int word) {
  const int k = word & 2;
  const double u1 = u32_to_open_double(w[k]), u2 = u32_to_uniform_double(w[k + 1]);
  const double r = ::sqrt(-2.0 * ::log(u1));
  const double theta = 6.283185307179586 * u2;
  return (word & 1) ? r * ::sin(theta) : r * ::cos(theta);
}

CG_HD double philox_normal(const uint32_t w[4], int word, double mean, double std) {
  return ::fma(philox_std_normal(w, word), std, mean);
}

}  // namespace cg::common
