// Duplicate detection for `prepare`: exact duplicates by a 64-bit hash of the
// fitted pixels; near-duplicates found as candidates by a 64-bit difference hash
// (dHash) within a Hamming distance, through multi-index hashing (no all-pairs scan),
// and confirmed by comparing small thumbnails (near_distance), because a dHash alone
// cannot tell apart low-contrast covers: dark covers have nearly empty hashes.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

namespace cg::data {

enum class DedupeMode { off, exact, perceptual };

// 64-bit hash of n bytes (wyhash-style multiply-mix over 8-byte words).
uint64_t hash64(const uint8_t* p, size_t n);

// dHash of a (size,size,3) image: luma area-resized to 9x8, bit (r*8+c) set when
// pixel (r,c) is brighter than pixel (r,c+1) by more than 2 levels (so flat areas
// give stable zeros rather than bits that noise flips).
uint64_t dhash64(const uint8_t* rgb, int size);
inline int hamming64(uint64_t a, uint64_t b) { return __builtin_popcountll(a ^ b); }

// A near-duplicate candidate's confirmation: both images as 32x32 thumbnails (area resize;
// 16x16 for 16-pixel sets) in luma and half-weighted chroma, each channel about its mean;
// the mean absolute difference of the inner region at the best of a few alignments (as
// is; shifted by half a pixel; zoomed 2 or 4%, which undoes a slight crop), divided by the
// images' own edge contrast (mean absolute neighbour difference, plus 2 levels).
// Re-encoded (JPEG quality 40 and up), resized and slightly cropped (1-2% of a side)
// copies score below kNearThreshold; distinct covers of one dark style (the demo's metal)
// above it. At 16x16 covers that differ only in thin lines look alike and may merge.
struct Thumbnail {
  int side = 0;
  std::vector<float> px;  // (side,side,3): Y, Cb/2, Cr/2, each about its mean
  float contrast = 0;
};
Thumbnail thumbnail(const uint8_t* rgb, int size);
double near_distance(const Thumbnail& a, const Thumbnail& b);
inline constexpr double kNearThreshold = 0.37;

// Mean colour of a (size,size,3) image, the guard that keeps two flat covers of
// different colours (same dHash: all zero bits) from being called duplicates.
struct MeanColour {
  uint8_t rgb[3];
};
MeanColour mean_colour(const uint8_t* rgb, int size);

// Multi-index hashing over 64-bit hashes: the bits are cut into d+1 bands; two hashes
// within Hamming distance d agree exactly on at least one band (pigeonhole), so a query
// only examines the entries sharing one of its band values, never all pairs.
class HammingIndex {
 public:
  explicit HammingIndex(int max_distance);
  void add(uint32_t entry, uint64_t hash);
  // visit(entry, distance) once for each stored entry within max_distance of hash.
  void query(uint64_t hash, const std::function<void(uint32_t entry, int distance)>& visit);
  int64_t last_examined() const { return examined_; }  // entries looked at by the last query

 private:
  int max_distance_;
  std::vector<int> lo_, bits_;
  std::vector<std::unordered_map<uint64_t, std::vector<uint32_t>>> bands_;
  std::vector<uint64_t> hashes_;
  std::vector<uint32_t> stamp_;
  uint32_t query_ = 0;
  int64_t examined_ = 0;
  uint64_t band_value(uint64_t h, size_t b) const;
};

struct DedupeMatch {
  int64_t kept = -1;  // id of the kept image this one duplicates; -1: not a duplicate (kept now)
  bool exact = false;
  int distance = 0;   // Hamming distance of the dHashes (0 for exact)
};

// Feed images in a fixed order; each is either kept (added to the index) or reported as a
// duplicate of an earlier kept one. Deterministic for a given order.
class Deduper {
 public:
  // fetch(kept_id, out) copies the fitted pixels of a kept image: exact matches by hash are
  // confirmed byte for byte so a hash collision can never drop an image.
  using Fetch = std::function<void(int64_t kept_id, uint8_t* out)>;
  Deduper(DedupeMode mode, int max_distance, int size, Fetch fetch);
  ~Deduper();
  DedupeMatch check_and_add(int64_t id, const uint8_t* pixels);
  static constexpr int kMaxDistance = 16;
  static constexpr int kMaxColourDiff = 16;  // per channel, for near-duplicates

 private:
  struct Impl;
  std::unique_ptr<Impl> p_;
};

}  // namespace cg::data
