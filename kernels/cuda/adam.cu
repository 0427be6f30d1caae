// CUDA Adam: one grid-stride kernel over the flat parameter buffer (see adam.h).
#include "base/nvtx.h"
#include "kernels/cuda/adam.h"
#include "base/cuda_context.h"
#include "base/cuda_check.h"

namespace cg::cuda {

__global__ void adam_kernel(float* param, float* m, float* v, const float* grad, int64_t n,
                            common::AdamScalars<float> s) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    float p = param[i], mi = m[i], vi = v[i];
    common::adam_update(p, mi, vi, grad[i], s);
    param[i] = p;
    m[i] = mi;
    v[i] = vi;
  }
}

void adam_step(float* param, float* m, float* v, const float* grad, int64_t n, const common::AdamScalars<float>& s) {
  NVTX_RANGE_FN();
  CG_CHECK(n >= 0 && (n == 0 || (param && m && v && grad)), "adam_step: bad arguments (n = ", n, ")");
  if (n == 0) return;
  adam_kernel<<<grid_for(n), 256, 0, stream()>>>(param, m, v, grad, n, s);
  cudaCheck(cudaGetLastError());
}

}  // namespace cg::cuda
