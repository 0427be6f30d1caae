// Device scratch buffers (see scratch.h). Grown, never shrunk, so a training step's
// steady state allocates nothing; outgrown buffers stay allocated (a graph may hold them).
#include <vector>

#include "base/cuda_check.h"
#include "base/cuda_context.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/scratch.h"

namespace cg::cuda {

namespace {

struct Grown {
  void* ptr = nullptr;
  size_t cap = 0;
  std::vector<void*> retired;
  // Makes room for bytes; true when a new buffer was made.
  bool reserve(const char* what, size_t bytes, size_t at_least) {
    if (bytes <= cap && ptr) return false;
    CG_USER_CHECK(!capturing(), "The ", what, " had to grow (to ", bytes,
                  " bytes) while a CUDA graph was being captured; the eager warm-up iteration should have sized it.");
    if (ptr) retired.push_back(ptr);  // queued work or a captured graph may still use it
    cap = bytes < at_least ? at_least : bytes;
    cudaCheck(cudaMalloc(&ptr, cap));
    return true;
  }
};

}  // namespace

const float* ones(int64_t n) {
  static Grown g;
  if (g.reserve("vector of ones", size_t(n) * sizeof(float), 4096 * sizeof(float)))
    fill(static_cast<float*>(g.ptr), int64_t(g.cap / sizeof(float)), 1.f);
  return static_cast<const float*>(g.ptr);
}

void* workspace(size_t bytes) {
  static Grown g;
  g.reserve("cuDNN workspace", bytes, 1);
  return g.ptr;
}

void* grad_scratch(size_t bytes) {
  static Grown g;
  g.reserve("low-precision gradient scratch", bytes, 1);
  return g.ptr;
}

}  // namespace cg::cuda
