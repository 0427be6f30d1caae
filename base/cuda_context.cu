// The engine's CUDA context (see cuda_context.h). Handles are process-wide and
// created lazily so a CPU-only run of a CUDA build never touches the driver.
#include <mutex>

#include "base/cuda_context.h"
#include "base/cuda_check.h"

namespace cg::cuda {
namespace {
struct Context {
  cudaStream_t stream = nullptr;
  cudnnHandle_t cudnn = nullptr;
  cublasHandle_t cublas = nullptr;
  bool tf32 = false;
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
    // DEFAULT keeps FP32 GEMMs in FP32 (no TF32) but lets cuBLAS pick its fast FP32 kernels;
    // PEDANTIC would also forbid those (slower, and no more accurate in a way we test).
    cublasCheck(cublasSetMathMode(c.cublas, CUBLAS_DEFAULT_MATH));
  });
  return c;
}
}  // namespace

cudaStream_t stream() { return ctx().stream; }
cudnnHandle_t cudnn() { return ctx().cudnn; }
cublasHandle_t cublas() { return ctx().cublas; }

void set_tf32(bool on) {
  ctx().tf32 = on;
  cublasCheck(cublasSetMathMode(ctx().cublas, on ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
}
bool tf32_enabled() { return ctx().tf32; }

}  // namespace cg::cuda
