// Reusable device scratch: a vector of ones (for reductions as GEMV) and a
// workspace for cuDNN, both grown on demand and kept for the process.
#pragma once
#include <cstddef>
#include <cstdint>

namespace cg::cuda {
const float* ones(int64_t n);      // at least n ones on the device
void* workspace(size_t bytes);     // at least bytes of scratch; valid until the next call
}  // namespace cg::cuda
