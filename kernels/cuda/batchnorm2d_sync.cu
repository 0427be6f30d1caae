// CUDA synchronised BatchNorm2d (see batchnorm2d_sync.h). The per-channel sums are one
// block per channel, each thread adding a strided share of the channel's N*HW values in
// double and the block reducing them in shared memory; the per-channel arithmetic is one
// thread per channel; the normalisation and the input gradient are grid-stride loops.
#include "kernels/cuda/batchnorm2d_sync.h"

#include "base/cuda_check.h"
#include "base/cuda_context.h"
#include "base/nvtx.h"
#include "kernels/common/activations.h"
#include "kernels/cuda/scratch.h"

namespace cg::cuda {

namespace {

constexpr int kThreads = 256;

// Sums v over the block; thread 0 gets the total.
__device__ double block_sum(double v) {
  __shared__ double part[kThreads];
  part[threadIdx.x] = v;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
    __syncthreads();
  }
  return part[0];
}

// Element i of channel c's N*HW values.
__device__ int64_t at(int64_t c, int64_t i, int64_t C, int64_t HW) { return ((i / HW) * C + c) * HW + i % HW; }

__global__ void sums_kernel(double* sum, const float* x, int64_t N, int64_t C, int64_t HW) {
  const int64_t c = blockIdx.x;
  double s = 0;
  for (int64_t i = threadIdx.x; i < N * HW; i += kThreads) s += x[at(c, i, C, HW)];
  const double t = block_sum(s);
  if (threadIdx.x == 0) sum[c] = t;
  if (c == 0 && threadIdx.x == 0) sum[C] = double(N * HW);
}

__global__ void sq_dev_kernel(double* sq, const float* x, const double* sum, int64_t N, int64_t C, int64_t HW) {
  const int64_t c = blockIdx.x;
  const float mean = float(sum[c] / sum[C]);
  double s = 0;
  for (int64_t i = threadIdx.x; i < N * HW; i += kThreads) {
    const float d = x[at(c, i, C, HW)] - mean;
    s += d * d;
  }
  const double t = block_sum(s);
  if (threadIdx.x == 0) sq[c] = t;
}

// Per channel: the saved statistics, the running update, and scale/shift (ss: 2C).
__global__ void stats_kernel(float* ss, float* save_mean, float* save_invstd, float* rm, float* rv,
                             const float* gamma, const float* beta, const double* sum, const double* sq, int64_t C,
                             double momentum, double eps) {
  const int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (c >= C) return;
  const double M = sum[C];
  const double mean = sum[c] / M, var = sq[c] / M, invstd = 1.0 / sqrt(var + eps);
  const double scale = double(gamma[c]) * invstd;
  ss[c] = float(scale), ss[C + c] = float(double(beta[c]) - mean * scale);
  save_mean[c] = float(mean), save_invstd[c] = float(invstd);
  if (rm) {
    rm[c] = float((1 - momentum) * rm[c] + momentum * mean);
    rv[c] = float((1 - momentum) * rv[c] + momentum * sq[c] / (M - 1));
  }
}

__global__ void normalize_kernel(float* out, const float* x, const float* ss, int64_t C, int64_t HW, int64_t n,
                                 float slope) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t c = (i / HW) % C;
    out[i] = common::leaky_relu_fwd(x[i] * ss[c] + ss[C + c], slope);
  }
}

__global__ void grad_sums_kernel(double* sums, const float* dout, const float* x, const float* out, float slope,
                                 int64_t N, int64_t C, int64_t HW) {
  const int64_t c = blockIdx.x;
  double sg = 0, sgx = 0;
  for (int64_t i = threadIdx.x; i < N * HW; i += kThreads) {
    const int64_t j = at(c, i, C, HW);
    const float g = out ? common::leaky_relu_bwd_from_out(out[j], dout[j], slope) : dout[j];
    sg += g, sgx += double(g) * double(x[j]);
  }
  const double a = block_sum(sg);
  __syncthreads();  // block_sum's shared buffer is reused
  const double b = block_sum(sgx);
  if (threadIdx.x == 0) sums[c] = a, sums[C + c] = b;
}

// Per channel: dgamma/dbeta from the local sums; k, mean(dy), mean(dy*xhat) (kk: 3C) from the global.
__global__ void grad_stats_kernel(float* kk, float* dgamma, float* dbeta, const float* gamma, const float* mean,
                                  const float* invstd, const double* local, const double* global,
                                  const double* count, int64_t C) {
  const int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (c >= C) return;
  const double M = *count;
  const double mu = mean[c], is = invstd[c];
  if (dgamma) dgamma[c] += float(is * (local[C + c] - mu * local[c]));
  if (dbeta) dbeta[c] += float(local[c]);
  kk[c] = float(double(gamma[c]) * is);
  kk[C + c] = float(global[c] / M);
  kk[2 * C + c] = float(is * (global[C + c] - mu * global[c]) / M);
}

__global__ void dx_kernel(float* dinp, const float* dout, const float* x, const float* out, float slope,
                          const float* mean, const float* invstd, const float* kk, int64_t C, int64_t HW, int64_t n,
                          bool accumulate) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t c = (i / HW) % C;
    const float g = out ? common::leaky_relu_bwd_from_out(out[i], dout[i], slope) : dout[i];
    const float v = kk[c] * (g - kk[C + c] - (x[i] - mean[c]) * invstd[c] * kk[2 * C + c]);
    dinp[i] = accumulate ? dinp[i] + v : v;
  }
}

int per_channel_grid(int64_t C) { return int((C + kThreads - 1) / kThreads); }

}  // namespace

void batch_norm2d_sync_sums(double* sum, const float* x, int64_t N, int64_t C, int64_t HW) {
  NVTX_RANGE_FN();
  sums_kernel<<<unsigned(C), kThreads, 0, stream()>>>(sum, x, N, C, HW);
  cudaCheck(cudaGetLastError());
}

void batch_norm2d_sync_sq_dev(double* sq, const float* x, const double* sum, int64_t N, int64_t C, int64_t HW) {
  NVTX_RANGE_FN();
  sq_dev_kernel<<<unsigned(C), kThreads, 0, stream()>>>(sq, x, sum, N, C, HW);
  cudaCheck(cudaGetLastError());
}

void batch_norm2d_sync_apply(float* out, float* save_mean, float* save_invstd, float* running_mean,
                             float* running_var, const float* x, const float* gamma, const float* beta,
                             const double* sum, const double* sq, int64_t N, int64_t C, int64_t HW,
                             double momentum, double eps, float slope) {
  NVTX_RANGE_FN();
  float* ss = static_cast<float*>(workspace(size_t(2 * C) * sizeof(float)));
  stats_kernel<<<per_channel_grid(C), kThreads, 0, stream()>>>(ss, save_mean, save_invstd, running_mean, running_var,
                                                               gamma, beta, sum, sq, C, momentum, eps);
  cudaCheck(cudaGetLastError());
  const int64_t n = N * C * HW;
  normalize_kernel<<<grid_for(n), kThreads, 0, stream()>>>(out, x, ss, C, HW, n, slope);
  cudaCheck(cudaGetLastError());
}

void batch_norm2d_sync_grad_sums(double* sums, const float* dout, const float* x, const float* out, float slope,
                                 int64_t N, int64_t C, int64_t HW) {
  NVTX_RANGE_FN();
  grad_sums_kernel<<<unsigned(C), kThreads, 0, stream()>>>(sums, dout, x, out, slope, N, C, HW);
  cudaCheck(cudaGetLastError());
}

void batch_norm2d_sync_backward(float* dinp, float* dgamma, float* dbeta, const float* dout, const float* x,
                                const float* gamma, const float* mean, const float* invstd, const double* local,
                                const double* global, const double* count, int64_t N, int64_t C, int64_t HW,
                                const float* out, float slope, bool accumulate) {
  NVTX_RANGE_FN();
  float* kk = static_cast<float*>(workspace(size_t(3 * C) * sizeof(float)));
  grad_stats_kernel<<<per_channel_grid(C), kThreads, 0, stream()>>>(kk, dgamma, dbeta, gamma, mean, invstd, local,
                                                                    global, count, C);
  cudaCheck(cudaGetLastError());
  if (!dinp) return;
  const int64_t n = N * C * HW;
  dx_kernel<<<grid_for(n), kThreads, 0, stream()>>>(dinp, dout, x, out, slope, mean, invstd, kk, C, HW, n,
                                                    accumulate);
  cudaCheck(cudaGetLastError());
}

}  // namespace cg::cuda
