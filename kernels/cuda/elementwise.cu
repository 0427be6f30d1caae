// CUDA versions of kernels/cpu/elementwise.h: grid-stride loops on the engine stream.
#include "base/nvtx.h"
#include "base/cuda_context.h"
#include "base/cuda_check.h"
#include "kernels/cuda/elementwise.h"

namespace cg::cuda {

__global__ void fill_kernel(float* out, int64_t n, float value) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = value;
}

__global__ void axpy_kernel(float* out, const float* inp, int64_t n, float alpha) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] += alpha * inp[i];
}

void fill(float* out, int64_t n, float value) {
  NVTX_RANGE_FN();
  if (n == 0) return;
  fill_kernel<<<grid_for(n), 256, 0, stream()>>>(out, n, value);
  cudaCheck(cudaGetLastError());
}

void axpy(float* out, const float* inp, int64_t n, float alpha) {
  NVTX_RANGE_FN();
  if (n == 0) return;
  axpy_kernel<<<grid_for(n), 256, 0, stream()>>>(out, inp, n, alpha);
  cudaCheck(cudaGetLastError());
}

}  // namespace cg::cuda
