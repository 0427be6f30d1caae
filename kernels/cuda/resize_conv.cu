// CUDA projection onto resize-convolutions: a grid-stride loop, one 4x4 kernel per thread
// (see resize_conv.h).
#include "base/cuda_check.h"
#include "base/cuda_context.h"
#include "base/nvtx.h"
#include "kernels/common/resize_conv.h"
#include "kernels/cuda/resize_conv.h"

namespace cg::cuda {

__global__ void project_resize_kernel(float* w, int64_t kernels, float strength) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < kernels; i += (int64_t)gridDim.x * blockDim.x)
    common::project_resize_kernel(w + i * 16, strength);
}

void project_resize_conv(float* w, int64_t kernels, float strength) {
  NVTX_RANGE_FN();
  CG_CHECK(kernels >= 0 && (kernels == 0 || w), "project_resize_conv: bad arguments (kernels = ", kernels, ")");
  if (kernels == 0) return;
  project_resize_kernel<<<grid_for(kernels), 256, 0, stream()>>>(w, kernels, strength);
  cudaCheck(cudaGetLastError());
}

}  // namespace cg::cuda
