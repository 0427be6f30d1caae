// CUDA per-channel bias and its gradient (see bias.h).
#include "base/cuda_check.h"
#include "base/cuda_context.h"
#include "base/nvtx.h"
#include "base/profile.h"
#include "kernels/cuda/bias.h"
#include "kernels/cuda/reduce.cuh"

namespace cg::cuda {

namespace {

template <class T>
__global__ void add_bias_kernel(T* y, const float* bias, int64_t C, int64_t HW, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] = common::from_float<T>(common::to_float(y[i]) + bias[(i / HW) % C]);
}

template <class T>
__global__ void bias_grad_kernel(float* dbias, const T* dy, int64_t N, int64_t C, int64_t HW) {
  const int64_t c = blockIdx.x, m = N * HW;
  double s = 0;
  for (int64_t j = threadIdx.x; j < m; j += blockDim.x) {
    const int64_t n = j / HW;
    s += common::to_float(dy[(n * C + c) * HW + (j - n * HW)]);
  }
  const Pair<double> t = block_sum2(s, 0.0);
  if (threadIdx.x == 0) dbias[c] += float(t.a);
}

template <class T>
void add_bias(T* y, const float* bias, int64_t N, int64_t C, int64_t HW) {
  NVTX_RANGE("add_channel_bias");
  const int64_t n = N * C * HW;
  CG_CHECK(y && bias && n > 0, "add_channel_bias: bad arguments (", N, ",", C, ",", HW, ")");
  prof::add_work(0, 2.0 * double(n) * sizeof(T));
  add_bias_kernel<T><<<grid_for(n), 256, 0, stream()>>>(y, bias, C, HW, n);
  cudaCheck(cudaGetLastError());
}

template <class T>
void bias_grad(float* dbias, const T* dy, int64_t N, int64_t C, int64_t HW) {
  NVTX_RANGE("channel_bias_grad");
  CG_CHECK(dbias && dy && N > 0 && C > 0 && HW > 0, "channel_bias_grad: bad arguments (", N, ",", C, ",", HW, ")");
  prof::add_work(0, double(N * C * HW) * sizeof(T));
  bias_grad_kernel<T><<<(unsigned)C, channel_block(N * HW), 0, stream()>>>(dbias, dy, N, C, HW);
  cudaCheck(cudaGetLastError());
}

}  // namespace

void add_channel_bias(float* y, const float* bias, int64_t N, int64_t C, int64_t HW) { add_bias(y, bias, N, C, HW); }
void add_channel_bias(bf16* y, const float* bias, int64_t N, int64_t C, int64_t HW) { add_bias(y, bias, N, C, HW); }
void channel_bias_grad(float* dbias, const float* dy, int64_t N, int64_t C, int64_t HW) {
  bias_grad(dbias, dy, N, C, HW);
}
void channel_bias_grad(float* dbias, const bf16* dy, int64_t N, int64_t C, int64_t HW) {
  bias_grad(dbias, dy, N, C, HW);
}

}  // namespace cg::cuda
