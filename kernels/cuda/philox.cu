// CUDA Philox fills: one thread per 4-word block of the stream (grid-stride), each
// writing the block's words that fall inside [offset, offset + n).
#include "base/nvtx.h"
#include "kernels/common/philox.h"
#include "base/cuda_context.h"
#include "base/cuda_check.h"
#include "kernels/cuda/philox.h"

namespace cg::cuda {
namespace {

enum class Kind { bits, uniform, normal };

struct FillArgs {
  uint64_t seed, offset;
  float lo, scale;      // uniform
  double mean, std;     // normal
};

template <Kind K, class T>
__global__ void philox_fill_kernel(T* out, int64_t n, FillArgs a, int64_t nblocks) {
  const uint64_t first = a.offset / 4;
  for (int64_t b = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; b < nblocks; b += (int64_t)gridDim.x * blockDim.x) {
    uint32_t w[4];
    common::philox_block(a.seed, first + (uint64_t)b, w);
    for (int j = 0; j < 4; ++j) {
      const int64_t i = (int64_t)((first + (uint64_t)b) * 4 + (uint64_t)j - a.offset);  // element index
      if (i < 0 || i >= n) continue;
      if constexpr (K == Kind::bits) out[i] = w[j];
      else if constexpr (K == Kind::uniform) out[i] = common::uniform_float(w[j], a.lo, a.scale);
      else out[i] = (float)common::philox_normal(w, j, a.mean, a.std);
    }
  }
}

template <Kind K, class T>
void launch(T* out, int64_t n, const FillArgs& a) {
  const int64_t nblocks = (int64_t)((a.offset + (uint64_t)n - 1) / 4 - a.offset / 4 + 1);
  philox_fill_kernel<K, T><<<grid_for(nblocks), 256, 0, stream()>>>(out, n, a, nblocks);
  cudaCheck(cudaGetLastError());
}

}  // namespace

void philox_bits(uint32_t* out, int64_t n, uint64_t seed, uint64_t offset) {
  NVTX_RANGE_FN();
  CG_CHECK(n >= 0 && (n == 0 || out), "philox_bits: bad arguments (n = ", n, ")");
  if (n == 0) return;
  launch<Kind::bits>(out, n, FillArgs{seed, offset, 0.f, 0.f, 0.0, 0.0});
}

void philox_uniform(float* out, int64_t n, uint64_t seed, uint64_t offset, float lo, float scale) {
  NVTX_RANGE_FN();
  CG_CHECK(n >= 0 && (n == 0 || out), "philox_uniform: bad arguments (n = ", n, ")");
  if (n == 0) return;
  launch<Kind::uniform>(out, n, FillArgs{seed, offset, lo, scale, 0.0, 0.0});
}

void philox_normal(float* out, int64_t n, uint64_t seed, uint64_t offset, double mean, double std) {
  NVTX_RANGE_FN();
  CG_CHECK(n >= 0 && (n == 0 || out), "philox_normal: bad arguments (n = ", n, ")");
  if (n == 0) return;
  launch<Kind::normal>(out, n, FillArgs{seed, offset, 0.f, 0.f, mean, std});
}

}  // namespace cg::cuda
