// CUDA weight average: one grid-stride kernel over the flat buffer (see ema.h).
#include "base/cuda_check.h"
#include "base/cuda_context.h"
#include "base/nvtx.h"
#include "kernels/common/ema.h"
#include "kernels/cuda/ema.h"

namespace cg::cuda {

__global__ void ema_kernel(float* avg, const float* w, int64_t n, float one_minus_decay) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    avg[i] = common::ema_step(avg[i], w[i], one_minus_decay);
}

void ema_update(float* avg, const float* w, int64_t n, float one_minus_decay) {
  NVTX_RANGE_FN();
  CG_CHECK(n >= 0 && (n == 0 || (avg && w)), "ema_update: bad arguments (n = ", n, ")");
  if (n == 0) return;
  ema_kernel<<<grid_for(n), 256, 0, stream()>>>(avg, w, n, one_minus_decay);
  cudaCheck(cudaGetLastError());
}

}  // namespace cg::cuda
