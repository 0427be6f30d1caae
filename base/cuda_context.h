// The engine's CUDA context: one stream, one cuDNN and one cuBLAS handle,
// created on first use and bound to that stream. Every launcher uses stream().
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

namespace cg::cuda {
cudaStream_t stream();
cudnnHandle_t cudnn();
cublasHandle_t cublas();
// TF32 tensor-core math for cuBLAS and cuDNN (off by default: full FP32).
void set_tf32(bool on);
bool tf32_enabled();
}  // namespace cg::cuda
