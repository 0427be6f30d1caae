// Check macros for CUDA runtime, cuDNN and cuBLAS calls: each failure names the
// statement, the library's error string, the file and the line.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "base/check.h"

#define cudaCheck(stmt)                                                                 \
  do {                                                                                  \
    cudaError_t err_ = (stmt);                                                          \
    if (err_ != cudaSuccess)                                                            \
      ::cg::fail_at(__FILE__, __LINE__,                                                 \
                    ::cg::detail::cat("CUDA error: ", #stmt, ": ", cudaGetErrorString(err_))); \
  } while (0)

#define cudnnCheck(stmt)                                                                \
  do {                                                                                  \
    cudnnStatus_t st_ = (stmt);                                                         \
    if (st_ != CUDNN_STATUS_SUCCESS)                                                    \
      ::cg::fail_at(__FILE__, __LINE__,                                                 \
                    ::cg::detail::cat("cuDNN error: ", #stmt, ": ", cudnnGetErrorString(st_))); \
  } while (0)

#define cublasCheck(stmt)                                                               \
  do {                                                                                  \
    cublasStatus_t st_ = (stmt);                                                        \
    if (st_ != CUBLAS_STATUS_SUCCESS)                                                   \
      ::cg::fail_at(__FILE__, __LINE__,                                                 \
                    ::cg::detail::cat("cuBLAS error: ", #stmt, ": ", cublasGetStatusString(st_))); \
  } while (0)

namespace cg::cuda {
// Grid size for a grid-stride loop over n elements.
inline int grid_for(long long n, int block = 256) {
  long long g = (n + block - 1) / block;
  if (g > 65535LL * 8) g = 65535LL * 8;
  return static_cast<int>(g < 1 ? 1 : g);
}
}  // namespace cg::cuda
