// Hashes and the order-deterministic deduper of data/dedupe.h. Near-duplicate
// search is multi-index hashing: the 64 bits are cut into d+1 bands, and two hashes
// within Hamming distance d must agree exactly on at least one band (pigeonhole),
// so a query only looks at the buckets of its own band values.
#include "data/dedupe.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "data/fit.h"
#include "engine/check.h"

namespace cg::data {
namespace {

inline uint64_t mum(uint64_t a, uint64_t b) {
  const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return uint64_t(r) ^ uint64_t(r >> 64);
}
constexpr uint64_t K0 = 0xa0761d6478bd642full, K1 = 0xe7037ed1a0b428dbull, K2 = 0x8ebc6af09c88c6e3ull;

}  // namespace

uint64_t hash64(const uint8_t* p, size_t n) {
  uint64_t h = K0 ^ mum(n, K1);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = mum(h ^ w, K1);
  }
  if (i < n) {
    uint64_t w = 0;
    std::memcpy(&w, p + i, n - i);
    h = mum(h ^ w, K2);
  }
  return mum(h ^ K2, K0 ^ n);
}

uint64_t dhash64(const uint8_t* rgb, int size) {
  const size_t n = size_t(size) * size_t(size);
  std::vector<float> luma(n);
  for (size_t i = 0; i < n; ++i)
    luma[i] = 0.299f * rgb[3 * i] + 0.587f * rgb[3 * i + 1] + 0.114f * rgb[3 * i + 2];
  float small[9 * 8];
  resize_float(small, 9, 8, luma.data(), size, size, 1);
  uint64_t bits = 0;
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c)
      if (small[r * 9 + c] > small[r * 9 + c + 1]) bits |= uint64_t(1) << (r * 8 + c);
  return bits;
}

MeanColour mean_colour(const uint8_t* rgb, int size) {
  const size_t n = size_t(size) * size_t(size);
  uint64_t s[3] = {0, 0, 0};
  for (size_t i = 0; i < n; ++i)
    for (int c = 0; c < 3; ++c) s[c] += rgb[3 * i + c];
  MeanColour m;
  for (int c = 0; c < 3; ++c) m.rgb[c] = uint8_t((s[c] + n / 2) / n);
  return m;
}

struct Deduper::Impl {
  DedupeMode mode;
  int max_distance, size;
  Fetch fetch;
  std::unordered_map<uint64_t, std::vector<int64_t>> exact;  // pixel hash -> kept ids
  // Near-duplicate index over kept images.
  std::vector<int64_t> ids;
  std::vector<uint64_t> dh;
  std::vector<MeanColour> colour;
  std::vector<int> band_lo, band_bits;
  std::vector<std::unordered_map<uint64_t, std::vector<uint32_t>>> bands;
  std::vector<uint32_t> stamp;  // last query that looked at each entry
  uint32_t query = 0;
  std::vector<uint8_t> scratch;

  uint64_t band_value(uint64_t h, size_t b) const {
    const int bits = band_bits[b];
    return (h >> band_lo[b]) & (bits == 64 ? ~uint64_t(0) : ((uint64_t(1) << bits) - 1));
  }

  int64_t find_exact(uint64_t h, const uint8_t* px) {
    auto it = exact.find(h);
    if (it == exact.end()) return -1;
    const size_t bytes = size_t(size) * size_t(size) * 3;
    scratch.resize(bytes);
    for (int64_t id : it->second) {
      fetch(id, scratch.data());
      if (std::memcmp(scratch.data(), px, bytes) == 0) return id;
    }
    return -1;
  }

  DedupeMatch find_near(uint64_t h, const MeanColour& mc) {
    DedupeMatch best;
    ++query;
    for (size_t b = 0; b < bands.size(); ++b) {
      auto it = bands[b].find(band_value(h, b));
      if (it == bands[b].end()) continue;
      for (uint32_t e : it->second) {
        if (stamp[e] == query) continue;
        stamp[e] = query;
        const int d = hamming64(h, dh[e]);
        if (d > max_distance) continue;
        bool close = true;
        for (int c = 0; c < 3; ++c) close &= std::abs(int(mc.rgb[c]) - int(colour[e].rgb[c])) <= kMaxColourDiff;
        if (!close) continue;
        if (best.kept < 0 || d < best.distance || (d == best.distance && ids[e] < best.kept)) {
          best.kept = ids[e];
          best.distance = d;
        }
      }
    }
    return best;
  }

  void add_near(int64_t id, uint64_t h, const MeanColour& mc) {
    const uint32_t e = uint32_t(ids.size());
    ids.push_back(id);
    dh.push_back(h);
    colour.push_back(mc);
    stamp.push_back(0);
    for (size_t b = 0; b < bands.size(); ++b) bands[b][band_value(h, b)].push_back(e);
  }
};

Deduper::Deduper(DedupeMode mode, int max_distance, int size, Fetch fetch) : p_(std::make_unique<Impl>()) {
  CG_USER_CHECK(max_distance >= 0 && max_distance <= kMaxDistance, "The near-duplicate distance must be between 0 and ",
                kMaxDistance, " bits, got ", max_distance, ".");
  CG_CHECK(size > 0, "Deduper: size must be positive, got ", size);
  p_->mode = mode;
  p_->max_distance = max_distance;
  p_->size = size;
  p_->fetch = std::move(fetch);
  const int nb = max_distance + 1;
  for (int b = 0, lo = 0; b < nb; ++b) {
    const int bits = 64 / nb + (b < 64 % nb ? 1 : 0);
    p_->band_lo.push_back(lo);
    p_->band_bits.push_back(bits);
    lo += bits;
  }
  p_->bands.resize(size_t(nb));
}

Deduper::~Deduper() = default;

DedupeMatch Deduper::check_and_add(int64_t id, const uint8_t* pixels) {
  if (p_->mode == DedupeMode::off) return {};
  const size_t bytes = size_t(p_->size) * size_t(p_->size) * 3;
  const uint64_t h = hash64(pixels, bytes);
  const int64_t same = p_->find_exact(h, pixels);
  if (same >= 0) return {same, true, 0};
  if (p_->mode == DedupeMode::perceptual) {
    const uint64_t d = dhash64(pixels, p_->size);
    const MeanColour mc = mean_colour(pixels, p_->size);
    DedupeMatch near = p_->find_near(d, mc);
    if (near.kept >= 0) return near;
    p_->add_near(id, d, mc);
  }
  p_->exact[h].push_back(id);
  return {};
}

}  // namespace cg::data
