// One iteration's generator input from one Philox stream, element by element, so the CPU
// loop and the CUDA kernel give the same values and a captured CUDA graph can read the
// stream's offset from device memory. From the offset, each part starting on a 4-word
// boundary (as every Philox fill): B genre words, then B*C code words, then B*Z noise words.
// Row i of z is [one-hot(genre_i) (K) | codes (C) | noise (Z)], codes and noise uniform in
// [-1, 1) by uniform_float (kernels/common/philox.h); genre_i = (word * K) >> 32 (Lemire's
// multiply-shift without the rejection step: a bias below K / 2^32).
#pragma once
#include <stdint.h>

#include "kernels/common/hd.h"
#include "kernels/common/philox.h"

namespace cg::common {

struct LatentLayout {
  int64_t B, K, C, Z;  // rows, genres, codes, noise values per row
  CG_HD static uint64_t round4(uint64_t n) { return (n + 3) / 4 * 4; }
  CG_HD uint64_t genre_word(int64_t i) const { return uint64_t(i); }
  CG_HD uint64_t code_word(int64_t i, int64_t c) const { return round4(uint64_t(B)) + uint64_t(i * C + c); }
  CG_HD uint64_t noise_word(int64_t i, int64_t k) const {
    return round4(uint64_t(B)) + round4(uint64_t(B * C)) + uint64_t(i * Z + k);
  }
  // Words one iteration consumes: the offset's advance.
  CG_HD uint64_t words() const { return round4(uint64_t(B)) + round4(uint64_t(B * C)) + round4(uint64_t(B * Z)); }
};

// Word p of the stream for seed.
CG_HD uint32_t philox_word(uint64_t seed, uint64_t p) {
  uint32_t w[4];
  philox_block(seed, p / 4, w);
  return w[p % 4];
}

CG_HD int32_t genre_from_word(uint32_t u, int64_t K) { return int32_t((uint64_t(u) * uint64_t(K)) >> 32); }

CG_HD int32_t latent_genre(const LatentLayout& L, uint64_t seed, uint64_t offset, int64_t i) {
  return genre_from_word(philox_word(seed, offset + L.genre_word(i)), L.K);
}

// Element j of row i of z, as a float in [-1, 1) (0 or 1 in the one-hot part).
CG_HD float latent_value(const LatentLayout& L, uint64_t seed, uint64_t offset, int64_t i, int64_t j) {
  if (j < L.K) return latent_genre(L, seed, offset, i) == j ? 1.f : 0.f;
  if (j < L.K + L.C) return uniform_float(philox_word(seed, offset + L.code_word(i, j - L.K)), -1.f, 2.f);
  return uniform_float(philox_word(seed, offset + L.noise_word(i, j - L.K - L.C)), -1.f, 2.f);
}

}  // namespace cg::common
