// CUDA memory for the engine: allocation, copies and zeroing on the engine stream.
// (A caching allocator replaces plain cudaMalloc here: see issue 3.)
#include "engine/check.h"
#include "kernels/cuda/context.h"
#include "kernels/cuda/cuda_check.h"

namespace cg {

bool cuda_device_present() {
  static int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky "no driver" error
      return 0;
    }
    return n;
  }();
  return count > 0;
}

void* cuda_alloc(size_t bytes) {
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, bytes);
  if (err != cudaSuccess) {
    cudaGetLastError();
    throw Error("the GPU is out of memory allocating " + std::to_string(bytes >> 20) +
                " MiB (try a smaller --batch or --base-channels)");
  }
  return p;
}

void cuda_free(void* ptr, size_t) { cudaFree(ptr); }

void cuda_copy(void* dst, bool dst_cuda, const void* src, bool src_cuda, size_t bytes) {
  cudaMemcpyKind kind = dst_cuda ? (src_cuda ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                 : cudaMemcpyDeviceToHost;
  cudaCheck(cudaMemcpyAsync(dst, src, bytes, kind, cuda::stream()));
  if (!dst_cuda) cudaCheck(cudaStreamSynchronize(cuda::stream()));
}

void cuda_memset_zero(void* ptr, size_t bytes) { cudaCheck(cudaMemsetAsync(ptr, 0, bytes, cuda::stream())); }

void cuda_synchronize() { cudaCheck(cudaStreamSynchronize(cuda::stream())); }

}  // namespace cg
