// The stratified pixel-hash holdout (see holdout.h).
#include "data/holdout.h"

#include <algorithm>
#include <cmath>

#include "base/check.h"
#include "engine/philox.h"

namespace cg::data {

uint64_t pixel_hash(const uint8_t* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

uint64_t seeded_pixel_hash(const uint8_t* p, size_t n, uint64_t seed) {
  return splitmix64(pixel_hash(p, n) ^ splitmix64(seed ^ 0x484F4C444F5554ull));  // "HOLDOUT"
}

int64_t holdout_count(double fraction, int64_t n) {
  if (fraction <= 0 || n <= 1) return 0;
  return std::min<int64_t>(n - 1, std::llround(fraction * double(n)));
}

HoldoutSplit holdout_split(const Dataset& ds, double fraction, uint64_t seed) {
  const DatasetInfo& info = ds.info();
  CG_USER_CHECK(fraction >= 0 && fraction < 1, "The holdout fraction must be in [0, 1), got ", fraction, ".");
  CG_USER_CHECK(info.labeled(), "The dataset ", ds.path(), " has no genre labels, so it has no stratified holdout.");
  const size_t bytes = size_t(info.size) * size_t(info.size) * size_t(info.channels);
  const int K = int(info.genres.size());
  std::vector<std::vector<std::pair<uint64_t, int64_t>>> by_genre(static_cast<size_t>(K));
  for (int64_t i = 0; i < info.count; ++i)
    by_genre[size_t(ds.label(i))].emplace_back(seeded_pixel_hash(ds.pixels(i), bytes, seed), i);
  HoldoutSplit s;
  s.held_out_per_genre.assign(size_t(K), 0);
  std::vector<uint8_t> held(size_t(info.count), 0);
  for (int g = 0; g < K; ++g) {
    auto& v = by_genre[size_t(g)];
    const int64_t k = holdout_count(fraction, int64_t(v.size()));
    std::partial_sort(v.begin(), v.begin() + k, v.end());
    for (int64_t j = 0; j < k; ++j) held[size_t(v[size_t(j)].second)] = 1;
    s.held_out_per_genre[size_t(g)] = k;
  }
  for (int64_t i = 0; i < info.count; ++i) {
    if (held[size_t(i)]) {
      s.held_out.push_back(i);
      s.held_out_hashes.push_back(pixel_hash(ds.pixels(i), bytes));
    } else {
      s.train.push_back(i);
    }
  }
  std::sort(s.held_out_hashes.begin(), s.held_out_hashes.end());
  return s;
}

}  // namespace cg::data
