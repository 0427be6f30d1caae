// CUDA dropout (see dropout.h): the forward gives each thread one Philox block (four
// elements, grid-stride), as the Philox fills do; the backward is a plain pointwise loop.
#include "base/cuda_check.h"
#include "base/cuda_context.h"
#include "base/nvtx.h"
#include "kernels/common/dropout.h"
#include "kernels/cuda/dropout.h"

namespace cg::cuda {

__global__ void dropout_forward_kernel(float* out, uint8_t* mask, const float* x, int64_t n, uint64_t seed,
                                       uint64_t offset, uint32_t threshold, float scale, int64_t nblocks) {
  const uint64_t first = offset / 4;
  for (int64_t b = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; b < nblocks; b += (int64_t)gridDim.x * blockDim.x) {
    uint32_t w[4];
    common::philox_block(seed, first + (uint64_t)b, w);
    for (int j = 0; j < 4; ++j) {
      const int64_t i = (int64_t)((first + (uint64_t)b) * 4 + (uint64_t)j - offset);
      if (i < 0 || i >= n) continue;
      const uint8_t keep = common::dropout_keep(w[j], threshold) ? 1 : 0;
      mask[i] = keep;
      out[i] = common::dropout_apply(x[i], keep, scale);
    }
  }
}

__global__ void dropout_backward_kernel(float* dx, const float* dout, const uint8_t* mask, int64_t n, float scale,
                                        bool accumulate) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const float g = common::dropout_apply(dout[i], mask[i], scale);
    dx[i] = accumulate ? dx[i] + g : g;
  }
}

void dropout_forward(float* out, uint8_t* mask, const float* x, int64_t n, uint64_t seed, uint64_t offset,
                     uint32_t threshold, float scale) {
  NVTX_RANGE_FN();
  prof::add_work(double(n), double(n) * (2 * sizeof(float) + 1));
  CG_CHECK(n >= 0 && (n == 0 || (out && mask && x)), "dropout_forward: bad arguments (n = ", n, ")");
  if (n == 0) return;
  const int64_t nblocks = (int64_t)((offset + (uint64_t)n - 1) / 4 - offset / 4 + 1);
  dropout_forward_kernel<<<grid_for(nblocks), 256, 0, stream()>>>(out, mask, x, n, seed, offset, threshold, scale,
                                                                  nblocks);
  cudaCheck(cudaGetLastError());
}

void dropout_backward(float* dx, const float* dout, const uint8_t* mask, int64_t n, float scale, bool accumulate) {
  NVTX_RANGE_FN();
  prof::add_work((accumulate ? 2.0 : 1.0) * double(n), double(n) * ((accumulate ? 3 : 2) * sizeof(float) + 1));
  CG_CHECK(n >= 0 && (n == 0 || (dx && dout && mask)), "dropout_backward: bad arguments (n = ", n, ")");
  if (n == 0) return;
  dropout_backward_kernel<<<grid_for(n), 256, 0, stream()>>>(dx, dout, mask, n, scale, accumulate);
  cudaCheck(cudaGetLastError());
}

}  // namespace cg::cuda
