// Aligned host allocation with transparent huge pages for blocks of 2 MiB and more
// (see host_memory.h for why).
#include "base/host_memory.h"

#include <sys/mman.h>

#include <cstdlib>

namespace cg {

void* host_alloc_aligned(size_t bytes) {
  constexpr size_t kHuge = size_t(2) << 20;
  static const bool off = std::getenv("COVERGAN_NO_HUGEPAGES") != nullptr;  // for A/B timing
  if (bytes < kHuge || off) return std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  const size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
  void* p = std::aligned_alloc(kHuge, rounded);
  if (p) ::madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure changes nothing
  return p;
}

}  // namespace cg
