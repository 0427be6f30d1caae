// CUDA image normalisation (see normalize.h): grid-stride loops over the output,
// the per-pixel math shared with the CPU through kernels/common/normalize.h.
#include "base/nvtx.h"
#include "kernels/common/normalize.h"
#include "base/cuda_context.h"
#include "base/cuda_check.h"
#include "kernels/cuda/normalize.h"

namespace cg::cuda {

__global__ void u8_to_float_kernel(float* out, const uint8_t* in, const uint8_t* flip, int64_t B, int64_t H,
                                   int64_t W, int64_t C) {
  const int64_t n = B * C * H * W;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t w = i % W, h = (i / W) % H, c = (i / (W * H)) % C, b = i / (W * H * C);
    const int64_t ws = (flip && flip[b]) ? W - 1 - w : w;
    out[i] = common::pixel_to_unit<float>(in[((b * H + h) * W + ws) * C + c]);
  }
}

__global__ void float_to_u8_kernel(uint8_t* out, const float* in, int64_t B, int64_t C, int64_t H, int64_t W) {
  const int64_t n = B * C * H * W;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t c = i % C, w = (i / C) % W, h = (i / (C * W)) % H, b = i / (C * W * H);
    out[i] = common::unit_to_pixel(in[((b * C + c) * H + h) * W + w]);
  }
}

void images_u8_to_float(float* out, const uint8_t* in, const uint8_t* flip, int64_t B, int64_t H, int64_t W,
                        int64_t C) {
  NVTX_RANGE_FN();
  const int64_t n = B * C * H * W;
  CG_CHECK(B >= 0 && H >= 0 && W >= 0 && C >= 0 && (n == 0 || (out && in)), "images_u8_to_float: bad arguments");
  if (n == 0) return;
  u8_to_float_kernel<<<grid_for(n), 256, 0, stream()>>>(out, in, flip, B, H, W, C);
  cudaCheck(cudaGetLastError());
}

void images_float_to_u8(uint8_t* out, const float* in, int64_t B, int64_t C, int64_t H, int64_t W) {
  NVTX_RANGE_FN();
  const int64_t n = B * C * H * W;
  CG_CHECK(B >= 0 && H >= 0 && W >= 0 && C >= 0 && (n == 0 || (out && in)), "images_float_to_u8: bad arguments");
  if (n == 0) return;
  float_to_u8_kernel<<<grid_for(n), 256, 0, stream()>>>(out, in, B, C, H, W);
  cudaCheck(cudaGetLastError());
}

}  // namespace cg::cuda
