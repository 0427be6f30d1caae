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

namespace {

__global__ void adam_count_kernel(int32_t* t, const int32_t* halt) {
  if (!(halt && *halt)) *t += 1;
}

__global__ void adam_counted_kernel(float* param, float* m, float* v, const float* grad, int64_t n,
                                    common::AdamHyper h, const int32_t* t, const int32_t* halt) {
  if (halt && *halt) return;
  const common::AdamScalars<float> s = common::adam_scalars<float>(h, *t);
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    float p = param[i], mi = m[i], vi = v[i];
    common::adam_update(p, mi, vi, grad[i], s);
    param[i] = p;
    m[i] = mi;
    v[i] = vi;
  }
}

}  // namespace

void adam_step_counted(float* param, float* m, float* v, const float* grad, int64_t n, const common::AdamHyper& h,
                       int32_t* t, const int32_t* halt) {
  NVTX_RANGE_FN();
  CG_CHECK(n >= 0 && t && (n == 0 || (param && m && v && grad)), "adam_step_counted: bad arguments (n = ", n, ")");
  adam_count_kernel<<<1, 1, 0, stream()>>>(t, halt);
  cudaCheck(cudaGetLastError());
  if (n == 0) return;
  adam_counted_kernel<<<grid_for(n), 256, 0, stream()>>>(param, m, v, grad, n, h, t, halt);
  cudaCheck(cudaGetLastError());
}

void adam_step(float* param, float* m, float* v, const float* grad, int64_t n, const common::AdamScalars<float>& s) {
  NVTX_RANGE_FN();
  CG_CHECK(n >= 0 && (n == 0 || (param && m && v && grad)), "adam_step: bad arguments (n = ", n, ")");
  if (n == 0) return;
  adam_kernel<<<grid_for(n), 256, 0, stream()>>>(param, m, v, grad, n, s);
  cudaCheck(cudaGetLastError());
}

}  // namespace cg::cuda
