// Philox4x32-10 (Salmon et al. 2011, Random123): a counter-based generator. The
// n-th block of 4 words for a seed is philox(counter = n, key = seed), so the
// same (seed, offset) gives the same numbers on the CPU and the GPU, and a run
// is reproducible from its seed and the offset it has reached.
#pragma once
#include <cstdint>

#include "engine/tensor.h"
#include "kernels/common/philox.h"

namespace cg {

// SplitMix64 (Steele, Lea & Flood 2014): one 64-bit word to another, well mixed.
// Derives independent seeds (trainer streams, loader shuffle and flip keys) from a
// user's seed; the Philox streams are then keyed by those.
constexpr uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class Philox {
 public:
  explicit Philox(uint64_t seed = 0, uint64_t offset = 0) : seed_(seed), offset_(offset) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }  // in 32-bit draws consumed
  void set_offset(uint64_t o) { offset_ = o; }

  // Fill t (f32 or f64, CPU or CUDA) and advance the offset by t.numel() rounded up to 4.
  // The exact mappings from words to values are in kernels/common/philox.h.
  void uniform(Tensor& t, double lo = 0.0, double hi = 1.0);
  void normal(Tensor& t, double mean = 0.0, double std = 1.0);
  // Fill an i32 tensor (CPU or CUDA) with the raw 32-bit words (bit patterns); advances likewise.
  void bits(Tensor& t);
  // Reserves n draws for a kernel that evaluates the stream itself (dropout's mask):
  // returns the offset they start at and advances as a fill of n elements would.
  uint64_t take(int64_t n);
  // Host helpers for small things (labels, shuffles); they advance the offset too.
  uint32_t next_u32();
  double next_uniform();  // [0,1)
  int64_t next_below(int64_t n);  // uniform integer in [0, n)

 private:
  uint64_t seed_, offset_;
};

}  // namespace cg
