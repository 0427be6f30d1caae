// CUDA fully connected layer: cuBLAS GEMMs on row-major data viewed as column-major
// transposes, a bias broadcast kernel, and the bias gradient as a GEMV with ones.
#include "base/nvtx.h"
#include "base/profile.h"
#include "base/cuda_context.h"
#include "base/cuda_check.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/scratch.h"

namespace cg::cuda {

// out (B,OC) = bias broadcast over rows.
__global__ void broadcast_rows_kernel(float* out, const float* bias, int64_t B, int64_t OC) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < B * OC; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = bias ? bias[i % OC] : 0.f;
}

void linear_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t B, int64_t C,
                    int64_t OC) {
  NVTX_RANGE_FN();
  prof::add_work(2.0 * double(B * C * OC), 0);
  broadcast_rows_kernel<<<grid_for(B * OC), 256, 0, stream()>>>(out, bias, B, OC);
  cudaCheck(cudaGetLastError());
  const float one = 1.f;
  // Column-major view: out^T (OC,B) = W (C,OC)^T-view @ x^T (C,B).
  cublasCheck(cublasSgemm(cublas(), CUBLAS_OP_T, CUBLAS_OP_N, (int)OC, (int)B, (int)C, &one, weight, (int)C, inp,
                          (int)C, &one, out, (int)OC));
}

void linear_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int64_t B, int64_t C, int64_t OC) {
  NVTX_RANGE_FN();
  prof::add_work(2.0 * double(B * C * OC) * ((dinp ? 1 : 0) + (dweight ? 1 : 0)), 0);
  const float one = 1.f;
  if (dinp)  // dinp^T (C,B) += W^T-view (C,OC) @ dout^T (OC,B)
    cublasCheck(cublasSgemm(cublas(), CUBLAS_OP_N, CUBLAS_OP_N, (int)C, (int)B, (int)OC, &one, weight, (int)C,
                            dout, (int)OC, &one, dinp, (int)C));
  if (dweight)  // dW^T (C,OC) += x^T (C,B) @ dout (B,OC)
    cublasCheck(cublasSgemm(cublas(), CUBLAS_OP_N, CUBLAS_OP_T, (int)C, (int)OC, (int)B, &one, inp, (int)C, dout,
                            (int)OC, &one, dweight, (int)C));
  if (dbias)  // dbias (OC) += dout^T (OC,B) @ ones (B)
    cublasCheck(cublasSgemv(cublas(), CUBLAS_OP_N, (int)OC, (int)B, &one, dout, (int)OC, ones(B), 1, &one, dbias,
                            1));
}

}  // namespace cg::cuda
