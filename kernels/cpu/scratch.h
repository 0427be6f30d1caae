// Reusable scratch memory for the CPU kernels (im2col columns, packed batches). A fresh
// std::vector per call zero-fills and page-faults megabytes every op; these buffers
// persist per thread and slot and only grow, so a training step's shapes reuse them.
// Contents are not initialised: every kernel writes what it later reads.
#pragma once
#include <cstddef>

namespace cg::cpu {

// At least n elements of T, valid until the next scratch<T>(slot, ...) on this thread.
template <class T>
T* scratch(int slot, size_t n);

// Returns every scratch buffer of the calling thread to the system (tests, long idle).
void release_scratch();

}  // namespace cg::cpu
