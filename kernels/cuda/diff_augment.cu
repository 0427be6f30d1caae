// CUDA DiffAugment kernels (see diff_augment.h). Sums in double, as the CPU loops.
#include "base/cuda_check.h"
#include "base/cuda_context.h"
#include "base/nvtx.h"
#include "kernels/cuda/diff_augment.h"

namespace cg::cuda {
namespace {

constexpr int kColorThreads = 256;

// The sum of v[0..n) over the block (every thread gets it).
__device__ double block_sum(const float* v, int64_t n) {
  __shared__ double part[kColorThreads];
  double s = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += double(v[i]);
  part[threadIdx.x] = s;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w /= 2) {
    if (threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
    __syncthreads();
  }
  const double total = part[0];
  __syncthreads();
  return total;
}

__global__ void color_forward_kernel(float* out, const float* x, const float* p, int64_t C, int64_t HW) {
  const int64_t n = blockIdx.x;
  const float* xn = x + n * C * HW;
  float* on = out + n * C * HW;
  const double b = p[n * 3], s = p[n * 3 + 1], k = p[n * 3 + 2];
  const double base = (1.0 - k) * (block_sum(xn, C * HW) / double(C * HW) + b);
  for (int64_t q = threadIdx.x; q < HW; q += blockDim.x) {
    double mc = 0;
    for (int64_t c = 0; c < C; ++c) mc += double(xn[c * HW + q]);
    mc /= double(C);
    for (int64_t c = 0; c < C; ++c) on[c * HW + q] = float(k * (s * (double(xn[c * HW + q]) - mc) + mc + b) + base);
  }
}

__global__ void color_backward_kernel(float* dx, const float* dout, const float* p, int64_t C, int64_t HW) {
  const int64_t n = blockIdx.x;
  const float* gn = dout + n * C * HW;
  float* dn = dx + n * C * HW;
  const double s = p[n * 3 + 1], k = p[n * 3 + 2];
  const double through_mean = (1.0 - k) * block_sum(gn, C * HW) / double(C * HW);
  for (int64_t q = threadIdx.x; q < HW; q += blockDim.x) {
    double sc = 0;
    for (int64_t c = 0; c < C; ++c) sc += double(gn[c * HW + q]);
    const double through_pixel_mean = k * (1.0 - s) * sc / double(C);
    for (int64_t c = 0; c < C; ++c)
      dn[c * HW + q] = float(double(dn[c * HW + q]) + k * s * double(gn[c * HW + q]) + through_pixel_mean + through_mean);
  }
}

__global__ void translate_kernel(float* out, const float* x, const float* p, int64_t N, int64_t C, int64_t H,
                                 int64_t W, bool backward) {
  const int64_t total = N * C * H * W;
  for (int64_t at = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; at < total; at += (int64_t)gridDim.x * blockDim.x) {
    const int64_t j = at % W, i = (at / W) % H, n = at / (C * H * W);
    const int64_t si = i + int64_t(p[n * 2]), sj = j + int64_t(p[n * 2 + 1]);
    const bool inside = si >= 0 && si < H && sj >= 0 && sj < W;
    const int64_t src = at - (i * W + j) + si * W + sj;
    if (!backward)
      out[at] = inside ? x[src] : 0.0f;
    else if (inside)
      out[src] += x[at];  // out = dx, x = dout: each source pixel receives from one output
  }
}

__global__ void cutout_kernel(float* out, const float* x, const float* p, int64_t N, int64_t C, int64_t H, int64_t W,
                              bool backward) {
  const int64_t total = N * C * H * W;
  for (int64_t at = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; at < total; at += (int64_t)gridDim.x * blockDim.x) {
    const int64_t j = at % W, i = (at / W) % H, n = at / (C * H * W);
    const bool cut = i >= int64_t(p[n * 4]) && i < int64_t(p[n * 4 + 1]) && j >= int64_t(p[n * 4 + 2]) &&
                     j < int64_t(p[n * 4 + 3]);
    if (!backward)
      out[at] = cut ? 0.0f : x[at];
    else if (!cut)
      out[at] += x[at];
  }
}

void check_args(const char* op, const void* a, const void* b, const void* p, int64_t n) {
  CG_CHECK(n >= 0 && (n == 0 || (a && b && p)), op, ": bad arguments (", n, " elements)");
}

}  // namespace

void diffaug_color_forward(float* out, const float* x, const float* p, int64_t N, int64_t C, int64_t HW) {
  NVTX_RANGE_FN();
  check_args("diffaug_color_forward", out, x, p, N * C * HW);
  if (N * C * HW == 0) return;
  color_forward_kernel<<<(unsigned)N, kColorThreads, 0, stream()>>>(out, x, p, C, HW);
  cudaCheck(cudaGetLastError());
}

void diffaug_color_backward(float* dx, const float* dout, const float* p, int64_t N, int64_t C, int64_t HW) {
  NVTX_RANGE_FN();
  check_args("diffaug_color_backward", dx, dout, p, N * C * HW);
  if (N * C * HW == 0) return;
  color_backward_kernel<<<(unsigned)N, kColorThreads, 0, stream()>>>(dx, dout, p, C, HW);
  cudaCheck(cudaGetLastError());
}

void diffaug_translate_forward(float* out, const float* x, const float* p, int64_t N, int64_t C, int64_t H,
                               int64_t W) {
  NVTX_RANGE_FN();
  check_args("diffaug_translate_forward", out, x, p, N * C * H * W);
  if (N * C * H * W == 0) return;
  translate_kernel<<<grid_for(N * C * H * W), 256, 0, stream()>>>(out, x, p, N, C, H, W, false);
  cudaCheck(cudaGetLastError());
}

void diffaug_translate_backward(float* dx, const float* dout, const float* p, int64_t N, int64_t C, int64_t H,
                                int64_t W) {
  NVTX_RANGE_FN();
  check_args("diffaug_translate_backward", dx, dout, p, N * C * H * W);
  if (N * C * H * W == 0) return;
  translate_kernel<<<grid_for(N * C * H * W), 256, 0, stream()>>>(dx, dout, p, N, C, H, W, true);
  cudaCheck(cudaGetLastError());
}

void diffaug_cutout_forward(float* out, const float* x, const float* p, int64_t N, int64_t C, int64_t H, int64_t W) {
  NVTX_RANGE_FN();
  check_args("diffaug_cutout_forward", out, x, p, N * C * H * W);
  if (N * C * H * W == 0) return;
  cutout_kernel<<<grid_for(N * C * H * W), 256, 0, stream()>>>(out, x, p, N, C, H, W, false);
  cudaCheck(cudaGetLastError());
}

void diffaug_cutout_backward(float* dx, const float* dout, const float* p, int64_t N, int64_t C, int64_t H,
                             int64_t W) {
  NVTX_RANGE_FN();
  check_args("diffaug_cutout_backward", dx, dout, p, N * C * H * W);
  if (N * C * H * W == 0) return;
  cutout_kernel<<<grid_for(N * C * H * W), 256, 0, stream()>>>(dx, dout, p, N, C, H, W, true);
  cudaCheck(cudaGetLastError());
}

}  // namespace cg::cuda
