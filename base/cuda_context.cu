// The engine's CUDA context (see cuda_context.h). Handles are process-wide and
// created lazily so a CPU-only run of a CUDA build never touches the driver.
#include <mutex>

#include "base/cuda_check.h"
#include "base/cuda_context.h"

namespace cg::cuda {
namespace {
// cuBLAS's own scratch (NVIDIA recommends 32 MiB on Hopper); set once so that a GEMM in
// a captured graph finds it instead of allocating.
constexpr size_t kCublasWorkspace = size_t(32) << 20;

struct Context {
  cudaStream_t stream = nullptr;
  cudnnHandle_t cudnn = nullptr;
  cublasHandle_t cublas = nullptr;
  void* cublas_ws = nullptr;
};
Context& ctx() {
  static Context c;
  static std::once_flag once;
  std::call_once(once, [] {
    cudaCheck(cudaStreamCreateWithFlags(&c.stream, cudaStreamNonBlocking));
    cudnnCheck(cudnnCreate(&c.cudnn));
    cudnnCheck(cudnnSetStream(c.cudnn, c.stream));
    cublasCheck(cublasCreate(&c.cublas));
    cublasCheck(cublasSetStream(c.cublas, c.stream));
    cudaCheck(cudaMalloc(&c.cublas_ws, kCublasWorkspace));
    cublasCheck(cublasSetWorkspace(c.cublas, c.cublas_ws, kCublasWorkspace));
    // DEFAULT math: an FP32 GEMM stays FP32 unless a launcher asks for TF32 with
    // CUBLAS_COMPUTE_32F_FAST_TF32 (base/precision.h decides, per call).
    cublasCheck(cublasSetMathMode(c.cublas, CUBLAS_DEFAULT_MATH));
  });
  return c;
}
}  // namespace

cudaStream_t stream() { return ctx().stream; }
cudnnHandle_t cudnn() { return ctx().cudnn; }
cublasHandle_t cublas() { return ctx().cublas; }

bool capturing() {
  cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
  cudaCheck(cudaStreamIsCapturing(ctx().stream, &st));
  return st == cudaStreamCaptureStatusActive;
}

}  // namespace cg::cuda
