// Reusable device scratch: a vector of ones (for reductions as GEMV), the cuDNN workspace
// and a buffer for bf16 weight gradients before they are widened into the FP32 ones. Each
// grows on demand and is kept for the process; a buffer that is outgrown is retired, not
// freed, since a captured CUDA graph may still name it. Growing inside a capture fails
// with one sentence (the eager warm-up iteration sizes everything first).
#pragma once
#include <cstddef>
#include <cstdint>

namespace cg::cuda {
const float* ones(int64_t n);      // at least n ones on the device
void* workspace(size_t bytes);     // at least bytes of scratch for cuDNN; valid until the next call
void* grad_scratch(size_t bytes);  // at least bytes for a low-precision weight gradient
}  // namespace cg::cuda
