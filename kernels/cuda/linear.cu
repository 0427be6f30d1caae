// CUDA fully connected layer: cuBLAS GEMMs on row-major data viewed as column-major
// transposes (cublasGemmEx, so the compute type follows the precision: strict FP32, or
// TF32 tensor cores in tf32 and bf16 modes), a bias broadcast kernel, and the bias
// gradient as a GEMV with ones. The heads and G's input layer are tiny GEMMs in FP32 in
// every mode: bf16 mixed precision keeps them, and the losses after them, in FP32.
#include "base/cuda_check.h"
#include "base/cuda_context.h"
#include "base/nvtx.h"
#include "base/precision.h"
#include "base/profile.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/scratch.h"

namespace cg::cuda {

namespace {

// out (B,OC) = bias broadcast over rows.
__global__ void broadcast_rows_kernel(float* out, const float* bias, int64_t B, int64_t OC) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < B * OC; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = bias ? bias[i % OC] : 0.f;
}

cublasComputeType_t compute_type() {
  return cuda_math().precision == Precision::fp32 ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_32F_FAST_TF32;
}

// C (m,n) = A op (m,k) @ B op (k,n) + beta C, column-major, all f32.
void gemm(cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const float one = 1.f;
  cublasCheck(cublasGemmEx(cublas(), ta, tb, (int)m, (int)n, (int)k, &one, A, CUDA_R_32F, (int)lda, B, CUDA_R_32F,
                           (int)ldb, &beta, C, CUDA_R_32F, (int)ldc, compute_type(), CUBLAS_GEMM_DEFAULT));
}

}  // namespace

void linear_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t B, int64_t C,
                    int64_t OC) {
  NVTX_RANGE_FN();
  prof::add_work(2.0 * double(B * C * OC), 0);
  if (bias) {
    broadcast_rows_kernel<<<grid_for(B * OC), 256, 0, stream()>>>(out, bias, B, OC);
    cudaCheck(cudaGetLastError());
  }
  // Column-major view: out^T (OC,B) = W (C,OC)^T-view @ x^T (C,B); beta 0 without a bias (nothing read).
  gemm(CUBLAS_OP_T, CUBLAS_OP_N, OC, B, C, weight, C, inp, C, bias ? 1.f : 0.f, out, OC);
}

void linear_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int64_t B, int64_t C, int64_t OC) {
  NVTX_RANGE_FN();
  prof::add_work(2.0 * double(B * C * OC) * ((dinp ? 1 : 0) + (dweight ? 1 : 0)), 0);
  const float one = 1.f;
  if (dinp)  // dinp^T (C,B) += W^T-view (C,OC) @ dout^T (OC,B)
    gemm(CUBLAS_OP_N, CUBLAS_OP_N, C, B, OC, weight, C, dout, OC, 1.f, dinp, C);
  if (dweight)  // dW^T (C,OC) += x^T (C,B) @ dout (B,OC)
    gemm(CUBLAS_OP_N, CUBLAS_OP_T, C, OC, B, inp, C, dout, OC, 1.f, dweight, C);
  if (dbias)  // dbias (OC) += dout^T (OC,B) @ ones (B)
    cublasCheck(cublasSgemv(cublas(), CUBLAS_OP_N, (int)OC, (int)B, &one, dout, (int)OC, ones(B), 1, &one, dbias,
                            1));
}

}  // namespace cg::cuda
