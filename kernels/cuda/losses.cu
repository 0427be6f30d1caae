// CUDA losses (see losses.h): a per-element (or per-row) kernel writes the terms
// to scratch, then a cuBLAS GEMV against ones sums them with alpha = 1/count into
// the one-element loss on the device. Backward kernels are pointwise.
#include <climits>

#include "base/nvtx.h"
#include "kernels/common/losses.h"
#include "base/cuda_context.h"
#include "base/cuda_check.h"
#include "kernels/cuda/losses.h"
#include "kernels/cuda/scratch.h"

namespace cg::cuda {

namespace {

__global__ void bce_terms_kernel(float* terms, const float* z, const float* t, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    terms[i] = common::bce_with_logits_elem(z[i], t[i]);
}

__global__ void bce_backward_kernel(float* dz, const float* dloss, const float* z, const float* t, int64_t n) {
  const float k = dloss[0] / (float)n;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    dz[i] += k * common::bce_with_logits_grad(z[i], t[i]);
}

__global__ void mse_terms_kernel(float* terms, const float* p, const float* t, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    terms[i] = common::mse_elem(p[i], t[i]);
}

__global__ void mse_backward_kernel(float* dp, const float* dloss, const float* p, const float* t, int64_t n) {
  const float k = dloss[0] / (float)n;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    dp[i] += k * common::mse_grad(p[i], t[i]);
}

// One thread per row: K (the genres) is small.
__global__ void ce_rows_kernel(float* terms, float* lse, const float* z, const int32_t* labels, int64_t N,
                               int64_t K) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < N; i += (int64_t)gridDim.x * blockDim.x) {
    const float* row = z + i * K;
    const int32_t y = labels[i];
    lse[i] = common::logsumexp_row(row, K);
    terms[i] = (y >= 0 && y < K) ? lse[i] - row[y] : __int_as_float(0x7fc00000);  // bad label: NaN
  }
}

__global__ void ce_backward_kernel(float* dz, const float* dloss, const float* z, const float* lse,
                                   const int32_t* labels, int64_t N, int64_t K) {
  const float k = dloss[0] / (float)N;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < N * K; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t r = i / K, j = i % K;
    const int32_t y = labels[r];
    const float g = (y >= 0 && y < K) ? common::cross_entropy_grad(z[i], lse[r], j == y) : __int_as_float(0x7fc00000);
    dz[i] += k * g;
  }
}

// loss[0] = sum(terms (n)) / n: column-major terms is (n,1), so terms^T @ ones(n).
void mean_into(float* loss, const float* terms, int64_t n) {
  const float alpha = 1.f / (float)n, zero = 0.f;
  cublasCheck(cublasSgemv(cublas(), CUBLAS_OP_T, (int)n, 1, &alpha, terms, (int)n, ones(n), 1, &zero, loss, 1));
}

float* terms_scratch(const char* op, int64_t n) {
  CG_CHECK(n > 0 && n <= INT_MAX, op, ": element count ", n, " out of range");
  return static_cast<float*>(workspace(sizeof(float) * (size_t)n));
}

}  // namespace

void bce_with_logits_forward(float* loss, const float* z, const float* t, int64_t n) {
  NVTX_RANGE_FN();
  float* terms = terms_scratch("bce_with_logits_forward", n);
  bce_terms_kernel<<<grid_for(n), 256, 0, stream()>>>(terms, z, t, n);
  cudaCheck(cudaGetLastError());
  mean_into(loss, terms, n);
}

void bce_with_logits_backward(float* dz, const float* dloss, const float* z, const float* t, int64_t n) {
  NVTX_RANGE_FN();
  CG_CHECK(n > 0, "bce_with_logits_backward: empty input");
  bce_backward_kernel<<<grid_for(n), 256, 0, stream()>>>(dz, dloss, z, t, n);
  cudaCheck(cudaGetLastError());
}

void cross_entropy_forward(float* loss, float* lse, const float* z, const int32_t* labels, int64_t N, int64_t K) {
  NVTX_RANGE_FN();
  CG_CHECK(K > 0, "cross_entropy_forward: no classes (K = ", K, ")");
  float* terms = terms_scratch("cross_entropy_forward", N);
  ce_rows_kernel<<<grid_for(N, 128), 128, 0, stream()>>>(terms, lse, z, labels, N, K);
  cudaCheck(cudaGetLastError());
  mean_into(loss, terms, N);
}

void cross_entropy_backward(float* dz, const float* dloss, const float* z, const float* lse,
                            const int32_t* labels, int64_t N, int64_t K) {
  NVTX_RANGE_FN();
  CG_CHECK(N > 0 && K > 0, "cross_entropy_backward: empty logits (", N, ",", K, ")");
  ce_backward_kernel<<<grid_for(N * K), 256, 0, stream()>>>(dz, dloss, z, lse, labels, N, K);
  cudaCheck(cudaGetLastError());
}

void mse_forward(float* loss, const float* p, const float* t, int64_t n) {
  NVTX_RANGE_FN();
  float* terms = terms_scratch("mse_forward", n);
  mse_terms_kernel<<<grid_for(n), 256, 0, stream()>>>(terms, p, t, n);
  cudaCheck(cudaGetLastError());
  mean_into(loss, terms, n);
}

void mse_backward(float* dp, const float* dloss, const float* p, const float* t, int64_t n) {
  NVTX_RANGE_FN();
  CG_CHECK(n > 0, "mse_backward: empty input");
  mse_backward_kernel<<<grid_for(n), 256, 0, stream()>>>(dp, dloss, p, t, n);
  cudaCheck(cudaGetLastError());
}

}  // namespace cg::cuda
