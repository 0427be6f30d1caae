// Device scratch buffers (see cuda_scratch.h). Grown, never shrunk, so a training
// step's steady state allocates nothing.
#include "base/cuda_context.h"
#include "base/cuda_check.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/scratch.h"

namespace cg::cuda {

const float* ones(int64_t n) {
  static float* buf = nullptr;
  static int64_t cap = 0;
  if (n > cap) {
    if (buf) cudaCheck(cudaFree(buf));
    cap = n < 4096 ? 4096 : n;
    cudaCheck(cudaMalloc(&buf, (size_t)cap * sizeof(float)));
    fill(buf, cap, 1.f);
  }
  return buf;
}

void* workspace(size_t bytes) {
  static void* buf = nullptr;
  static size_t cap = 0;
  if (bytes > cap) {
    cudaCheck(cudaStreamSynchronize(stream()));  // the old buffer may still be in use
    if (buf) cudaCheck(cudaFree(buf));
    cap = bytes;
    cudaCheck(cudaMalloc(&buf, cap));
  }
  return buf;
}

}  // namespace cg::cuda
