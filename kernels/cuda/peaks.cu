// The GPU ceilings (see peaks.h): each measured as the best of a few repetitions after a
// warm-up, with CUDA events on the engine's stream; the cuBLAS math mode is restored.
#include "base/cuda_check.h"
#include "base/cuda_context.h"
#include "kernels/cuda/peaks.h"

#include <algorithm>

namespace cg::cuda {

namespace {

// Best seconds of reps runs of f on the engine stream.
template <class F>
double best_of(int reps, F&& f) {
  cudaEvent_t a, b;
  cudaCheck(cudaEventCreate(&a));
  cudaCheck(cudaEventCreate(&b));
  f();  // warm-up
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    cudaCheck(cudaEventRecord(a, stream()));
    f();
    cudaCheck(cudaEventRecord(b, stream()));
    cudaCheck(cudaEventSynchronize(b));
    float ms = 0;
    cudaCheck(cudaEventElapsedTime(&ms, a, b));
    best = std::min(best, double(ms) / 1e3);
  }
  cudaCheck(cudaEventDestroy(a));
  cudaCheck(cudaEventDestroy(b));
  return best;
}

}  // namespace

GpuPeaks measure_gpu_peaks() {
  GpuPeaks p;
  p.copy_mib = 1024;
  const size_t bytes = size_t(p.copy_mib) << 20;
  void *src = nullptr, *dst = nullptr;
  cudaCheck(cudaMalloc(&src, bytes));
  cudaCheck(cudaMalloc(&dst, bytes));
  cudaCheck(cudaMemsetAsync(src, 0, bytes, stream()));
  const double tc = best_of(5, [&] { cudaCheck(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream())); });
  p.copy_bytes = 2.0 * double(bytes) / tc;
  cudaCheck(cudaFree(src));
  cudaCheck(cudaFree(dst));

  p.n = 8192;
  const size_t elems = size_t(p.n) * size_t(p.n);
  float *A = nullptr, *B = nullptr, *C = nullptr;
  cudaCheck(cudaMalloc(&A, elems * sizeof(float)));
  cudaCheck(cudaMalloc(&B, elems * sizeof(float)));
  cudaCheck(cudaMalloc(&C, elems * sizeof(float)));
  cudaCheck(cudaMemsetAsync(A, 0, elems * sizeof(float), stream()));
  cudaCheck(cudaMemsetAsync(B, 0, elems * sizeof(float), stream()));
  cublasMath_t saved;
  cublasCheck(cublasGetMathMode(cublas(), &saved));
  const float one = 1.f, zero = 0.f;
  const int n = p.n;
  auto gemm = [&] { cublasCheck(cublasSgemm(cublas(), CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, A, n, B, n, &zero, C, n)); };
  const double flops = 2.0 * double(n) * double(n) * double(n);
  cublasCheck(cublasSetMathMode(cublas(), CUBLAS_DEFAULT_MATH));
  p.sgemm_fp32 = flops / best_of(3, gemm);
  cublasCheck(cublasSetMathMode(cublas(), CUBLAS_TF32_TENSOR_OP_MATH));
  p.sgemm_tf32 = flops / best_of(3, gemm);
  cublasCheck(cublasSetMathMode(cublas(), saved));
  cudaCheck(cudaFree(A));
  cudaCheck(cudaFree(B));
  cudaCheck(cudaFree(C));
  return p;
}

}  // namespace cg::cuda
