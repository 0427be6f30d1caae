// CUDA f32 <-> bf16 conversions (see cast.h): one grid-stride loop.
#include "base/cuda_check.h"
#include "base/cuda_context.h"
#include "base/nvtx.h"
#include "base/profile.h"
#include "kernels/cuda/cast.h"

namespace cg::cuda {

namespace {

template <class Out, class In>
__global__ void cast_kernel(Out* out, const In* in, int64_t n, bool accumulate) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const float v = common::to_float(in[i]);
    out[i] = common::from_float<Out>(accumulate ? common::to_float(out[i]) + v : v);
  }
}

template <class Out, class In>
void launch(Out* out, const In* in, int64_t n, bool accumulate) {
  NVTX_RANGE("cast");
  CG_CHECK(n >= 0 && (n == 0 || (out && in)), "cast: bad arguments (n = ", n, ")");
  if (n == 0) return;
  prof::add_work(0, double(n) * (sizeof(Out) * (accumulate ? 2 : 1) + sizeof(In)));
  cast_kernel<Out, In><<<grid_for(n), 256, 0, stream()>>>(out, in, n, accumulate);
  cudaCheck(cudaGetLastError());
}

}  // namespace

void cast(bf16* out, const float* in, int64_t n, bool accumulate) { launch(out, in, n, accumulate); }
void cast(float* out, const bf16* in, int64_t n, bool accumulate) { launch(out, in, n, accumulate); }

}  // namespace cg::cuda
