// The held-out part of a labeled set: a stratified fraction of each genre's covers,
// chosen by a seeded hash of their pixels (not their position in the file), so the
// same covers are held out in every run, on resume, and in any file holding them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace cg::data {

// FNV-1a over n bytes: the identity of a cover's pixels (eval matches covers across files by it).
uint64_t pixel_hash(const uint8_t* p, size_t n);
// The hash a holdout ranks by: pixel_hash mixed with the seed (SplitMix64).
uint64_t seeded_pixel_hash(const uint8_t* p, size_t n, uint64_t seed);

// How many of a genre's n covers a fraction holds out: round(fraction * n), at most n - 1
// (a genre keeps at least one training cover), 0 for fraction 0.
int64_t holdout_count(double fraction, int64_t n);

struct HoldoutSplit {
  std::vector<int64_t> train, held_out;    // dataset indices, ascending
  std::vector<int64_t> held_out_per_genre;  // by genre
  std::vector<uint64_t> held_out_hashes;   // pixel_hash of each held-out cover, ascending
};
// Splits a labeled set: in each genre the holdout_count(fraction, n_g) covers of smallest
// seeded hash (ties by index) are held out. Throws one sentence for a fraction outside
// [0, 1) or an unlabeled set.
HoldoutSplit holdout_split(const Dataset& ds, double fraction, uint64_t seed);

}  // namespace cg::data
