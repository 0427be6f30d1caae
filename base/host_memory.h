// Aligned host memory for large buffers: the CPU allocator (engine/device.cpp) and the
// CPU kernels' scratch (kernels/cpu/scratch.cpp) both take their blocks from here.
#pragma once
#include <cstddef>

namespace cg {

// Host memory for a large buffer, 64-byte aligned, released with std::free. Blocks of
// 2 MiB or more are 2 MiB aligned and marked for transparent huge pages (madvise), so the
// GEMMs' and im2col's strided walks over them do not miss the TLB on every row
// (3-5 % of a CPU iteration). COVERGAN_NO_HUGEPAGES=1 turns the advice off, for A/B timing.
void* host_alloc_aligned(size_t bytes);

}  // namespace cg
