// Hashes, the multi-index Hamming search and the order-deterministic deduper of
// data/dedupe.h.
#include "data/dedupe.h"

#include <algorithm>
#include <cmath>
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

// Chroma counts half as much as luma: JPEG's subsampled chroma bleeds across the edges
// of saturated colours, while distinct covers of one style differ mostly in luma.
constexpr float kChromaWeight = 0.5f;

Thumbnail thumbnail(const uint8_t* rgb, int size) {
  Thumbnail t;
  t.side = std::min(size, 32);
  const size_t n = size_t(size) * size_t(size) * 3;
  std::vector<float> full(n);
  for (size_t i = 0; i < n; i += 3) {  // Y, Cb, Cr (BT.601 scale), chroma down-weighted
    const float r = rgb[i], g = rgb[i + 1], b = rgb[i + 2];
    const float y = 0.299f * r + 0.587f * g + 0.114f * b;
    full[i] = y, full[i + 1] = kChromaWeight * (b - y) * 0.564f, full[i + 2] = kChromaWeight * (r - y) * 0.713f;
  }
  t.px.resize(size_t(t.side) * size_t(t.side) * 3);
  resize_float(t.px.data(), t.side, t.side, full.data(), size, size, 3);
  const int T = t.side;
  double dx = 0, dy = 0;
  for (int y = 0; y < T; ++y)
    for (int x = 0; x < T; ++x)
      for (int c = 0; c < 3; ++c) {
        const float v = t.px[size_t((y * T + x) * 3 + c)];
        if (x + 1 < T) dx += std::fabs(t.px[size_t((y * T + x + 1) * 3 + c)] - v);
        if (y + 1 < T) dy += std::fabs(t.px[size_t(((y + 1) * T + x) * 3 + c)] - v);
      }
  const double pairs = 3.0 * T * (T - 1);
  t.contrast = float(0.5 * (dx / pairs + dy / pairs));
  // Each channel about its mean: a copy a few levels brighter (another encoder, a colour
  // profile) differs in its mean only, which mean_colour's guard already bounds.
  for (int c = 0; c < 3; ++c) {
    double mean = 0;
    for (int i = 0; i < T * T; ++i) mean += t.px[size_t(i * 3 + c)];
    mean /= double(T) * T;
    for (int i = 0; i < T * T; ++i) t.px[size_t(i * 3 + c)] -= float(mean);
  }
  return t;
}

namespace {
// Mean |p(warped) - q| over the inner region (a tenth of the side off each edge), where
// p is sampled bilinearly at c + (x - c)/zoom + shift (edges clamped), c the centre.
double aligned_difference(const Thumbnail& p, const Thumbnail& q, double zoom, double sx, double sy) {
  const int T = p.side, m = std::max(1, T / 10);
  const double c = (T - 1) / 2.0;
  auto at = [&](int y, int x, int ch) { return p.px[size_t((y * T + x) * 3 + ch)]; };
  double sum = 0;
  for (int y = m; y < T - m; ++y) {
    const double fy = std::clamp(c + (y - c) / zoom + sy, 0.0, double(T - 1));
    const int y0 = std::min(int(fy), T - 2);
    const double wy = fy - y0;
    for (int x = m; x < T - m; ++x) {
      const double fx = std::clamp(c + (x - c) / zoom + sx, 0.0, double(T - 1));
      const int x0 = std::min(int(fx), T - 2);
      const double wx = fx - x0;
      for (int ch = 0; ch < 3; ++ch) {
        const double v = (1 - wy) * ((1 - wx) * at(y0, x0, ch) + wx * at(y0, x0 + 1, ch)) +
                         wy * ((1 - wx) * at(y0 + 1, x0, ch) + wx * at(y0 + 1, x0 + 1, ch));
        sum += std::fabs(v - q.px[size_t((y * T + x) * 3 + ch)]);
      }
    }
  }
  return sum / (3.0 * (T - 2 * m) * (T - 2 * m));
}
}  // namespace

double near_distance(const Thumbnail& a, const Thumbnail& b) {
  CG_CHECK(a.side == b.side && a.side >= 2, "near_distance: thumbnails of ", a.side, " and ", b.side, " pixels");
  const double norm = 0.5 * (a.contrast + b.contrast) + 2.0;
  double d = aligned_difference(a, b, 1.0, 0, 0) / norm;
  // Clearly alike or clearly not: the alignments below only decide the cases in between.
  if (d <= kNearThreshold || d > 3 * kNearThreshold) return d;
  for (double zoom : {1.0, 1.02, 1.04})
    for (double sy : {-0.5, 0.0, 0.5})
      for (double sx : {-0.5, 0.0, 0.5}) {
        if (zoom == 1.0 && sx == 0 && sy == 0) continue;
        d = std::min({d, aligned_difference(a, b, zoom, sx, sy) / norm, aligned_difference(b, a, zoom, sx, sy) / norm});
      }
  return d;
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

  // The closest kept image (by dHash, then the earliest) within the distance and the colour
  // guard whose thumbnail confirms it (near_distance below the threshold).
  DedupeMatch find_near(uint64_t h, const MeanColour& mc, const uint8_t* px) {
    std::vector<std::pair<int, int64_t>> cands;  // (dHash distance, kept id)
    near->query(h, [&](uint32_t e, int d) {
      for (int c = 0; c < 3; ++c)
        if (std::abs(int(mc.rgb[c]) - int(colour[e].rgb[c])) > kMaxColourDiff) return;
      cands.emplace_back(d, ids[e]);
    });
    std::sort(cands.begin(), cands.end());
    if (cands.empty()) return {};
    const Thumbnail mine = thumbnail(px, size);
    scratch.resize(size_t(size) * size_t(size) * 3);
    for (const auto& [d, id] : cands) {
      fetch(id, scratch.data());
      if (near_distance(mine, thumbnail(scratch.data(), size)) <= kNearThreshold) return {id, false, d};
    }
    return {};
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
    DedupeMatch near = p_->find_near(d, mc, pixels);
    if (near.kept >= 0) return near;
    p_->add_near(id, d, mc);
  }
  p_->exact[h].push_back(id);
  return {};
}

}  // namespace cg::data
