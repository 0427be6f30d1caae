// CUDA draw of the generator input (see latents.h): one thread per element of z.
#include "base/cuda_check.h"
#include "base/cuda_context.h"
#include "base/nvtx.h"
#include "kernels/common/latents.h"
#include "kernels/cuda/latents.h"

namespace cg::cuda {

namespace {

__global__ void latents_kernel(float* z, int32_t* genres, float* codes, const uint64_t* offset, uint64_t seed,
                               common::LatentLayout L) {
  const uint64_t off = *offset;
  const int64_t D = L.K + L.C + L.Z, n = L.B * D;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t i = e / D, j = e - i * D;
    const float v = common::latent_value(L, seed, off, i, j);
    z[e] = v;
    if (j == 0) genres[i] = common::latent_genre(L, seed, off, i);
    if (codes && j >= L.K && j < L.K + L.C) codes[i * L.C + (j - L.K)] = v;
  }
}

__global__ void advance_kernel(uint64_t* offset, uint64_t words) { *offset += words; }

}  // namespace

void draw_latents(float* z, int32_t* genres, float* codes, const uint64_t* offset, uint64_t seed, int64_t B, int64_t K,
                  int64_t C, int64_t Z) {
  NVTX_RANGE_FN();
  CG_CHECK(z && genres && offset && B > 0 && K > 0 && C >= 0 && Z >= 0, "draw_latents: bad arguments");
  latents_kernel<<<grid_for(B * (K + C + Z)), 256, 0, stream()>>>(z, genres, codes, offset, seed,
                                                                   common::LatentLayout{B, K, C, Z});
  cudaCheck(cudaGetLastError());
}

void advance_offset(uint64_t* offset, uint64_t words) {
  NVTX_RANGE_FN();
  advance_kernel<<<1, 1, 0, stream()>>>(offset, words);
  cudaCheck(cudaGetLastError());
}

}  // namespace cg::cuda
