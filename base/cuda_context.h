// The engine's CUDA context: one stream, one cuDNN and one cuBLAS handle (with its own
// workspace, so cuBLAS never allocates while a CUDA graph is being captured), created on
// first use and bound to that stream. Every launcher uses stream().
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

namespace cg::cuda {
cudaStream_t stream();
cudnnHandle_t cudnn();
cublasHandle_t cublas();
// True while the work queued on stream() is being captured into a CUDA graph: nothing
// may then synchronise, allocate from the driver or read results back.
bool capturing();
}  // namespace cg::cuda
