// Hashes, the multi-index Hamming search and the order-deterministic deduper of
// data/dedupe.h.
#include "data/dedupe.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "data/fit.h"
#include "base/check.h"

namespace cg::data {
namespace {

inline uint64_t mum(uint64_t a, uint64_t b) {
  const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return uint64_t(r) ^ uint64_t(r >> 64);
}
// Neighbours closer than this (in 0..255 luma) read as equal: flat areas, common on covers,
// then give stable zero bits instead of bits that JPEG noise flips.
constexpr float kFlatMargin = 2.0f;
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
      if (small[r * 9 + c] > small[r * 9 + c + 1] + kFlatMargin) bits |= uint64_t(1) << (r * 8 + c);
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

HammingIndex::HammingIndex(int max_distance) : max_distance_(max_distance) {
  CG_CHECK(max_distance >= 0 && max_distance < 64, "HammingIndex: distance ", max_distance, " out of range");
  const int nb = max_distance + 1;
  for (int b = 0, lo = 0; b < nb; ++b) {
    const int bits = 64 / nb + (b < 64 % nb ? 1 : 0);
    lo_.push_back(lo);
    bits_.push_back(bits);
    lo += bits;
  }
  bands_.resize(size_t(nb));
}

uint64_t HammingIndex::band_value(uint64_t h, size_t b) const {
  const int bits = bits_[b];
  return (h >> lo_[b]) & (bits == 64 ? ~uint64_t(0) : ((uint64_t(1) << bits) - 1));
}

void HammingIndex::add(uint32_t entry, uint64_t hash) {
  if (hashes_.size() <= entry) {
    hashes_.resize(size_t(entry) + 1);
    stamp_.resize(size_t(entry) + 1, 0);
  }
  hashes_[entry] = hash;
  for (size_t b = 0; b < bands_.size(); ++b) bands_[b][band_value(hash, b)].push_back(entry);
}

void HammingIndex::query(uint64_t hash, const std::function<void(uint32_t, int)>& visit) {
  ++query_;
  examined_ = 0;
  for (size_t b = 0; b < bands_.size(); ++b) {
    auto it = bands_[b].find(band_value(hash, b));
    if (it == bands_[b].end()) continue;
    for (uint32_t e : it->second) {
      if (stamp_[e] == query_) continue;  // already seen through another band
      stamp_[e] = query_;
      ++examined_;
      const int d = hamming64(hash, hashes_[e]);
      if (d <= max_distance_) visit(e, d);
    }
  }
}

struct Deduper::Impl {
  DedupeMode mode;
  int max_distance, size;
  Fetch fetch;
  std::unordered_map<uint64_t, std::vector<int64_t>> exact;  // pixel hash -> kept ids
  std::unique_ptr<HammingIndex> near;                          // over kept images' dHashes
  std::vector<int64_t> ids;                                    // index entry -> kept id
  std::vector<MeanColour> colour;
  std::vector<uint8_t> scratch;

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

  // The closest kept image (then the earliest) within the distance and the colour guard.
  DedupeMatch find_near(uint64_t h, const MeanColour& mc) {
    DedupeMatch best;
    near->query(h, [&](uint32_t e, int d) {
      for (int c = 0; c < 3; ++c)
        if (std::abs(int(mc.rgb[c]) - int(colour[e].rgb[c])) > kMaxColourDiff) return;
      if (best.kept < 0 || d < best.distance || (d == best.distance && ids[e] < best.kept)) {
        best.kept = ids[e];
        best.distance = d;
      }
    });
    return best;
  }

  void add_near(int64_t id, uint64_t h, const MeanColour& mc) {
    near->add(uint32_t(ids.size()), h);
    ids.push_back(id);
    colour.push_back(mc);
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
  p_->near = std::make_unique<HammingIndex>(max_distance);
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
