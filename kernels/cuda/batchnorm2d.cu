// CUDA BatchNorm2d (see batchnorm2d.h): one block per channel for everything that
// reduces (training forward, backward), a grid-stride loop for the eval forward. A
// training forward reads x twice (sums, then the normalised output) and writes y once;
// the backward reads (x, dy, y) twice and writes dx once, the epilogue's derivative
// taken from y on the fly, so no pre-activation tensor exists in either direction.
// Sums are per-thread doubles combined in a fixed order (reduce.cuh): deterministic.
// The per-channel formulas are kernels/common/batchnorm.h, as on the CPU.
#include <climits>

#include "base/cuda_check.h"
#include "base/cuda_context.h"
#include "base/nvtx.h"
#include "base/profile.h"
#include "kernels/common/batchnorm.h"
#include "kernels/cuda/batchnorm2d.h"
#include "kernels/cuda/reduce.cuh"

namespace cg::cuda {

namespace {

using common::from_float;
using common::to_float;

// Element j of channel c's m = N*HW values, in (N,C,HW) layout.
__device__ __forceinline__ int64_t at(int64_t j, int64_t c, int64_t C, int64_t HW) {
  const int64_t n = j / HW;
  return (n * C + c) * HW + (j - n * HW);
}

template <class T>
__global__ void bn_train_forward_kernel(T* out, float* save_mean, float* save_invstd, float* rmean, float* rvar,
                                        const T* inp, const float* gamma, const float* beta, int64_t N, int64_t C,
                                        int64_t HW, double momentum, double eps, float slope) {
  const int64_t c = blockIdx.x, m = N * HW;
  double s = 0, ss = 0;
  for (int64_t j = threadIdx.x; j < m; j += blockDim.x) {
    const double x = to_float(inp[at(j, c, C, HW)]);
    s += x;
    ss += x * x;
  }
  const Pair<double> t = block_sum2(s, ss);
  const double mean = t.a / double(m);
  const double var = fmax(t.b / double(m) - mean * mean, 0.0);  // biased: what normalises
  const common::BnForward f = common::bn_forward_coeffs(mean, var, gamma[c], beta[c], eps);
  if (threadIdx.x == 0) {
    save_mean[c] = float(mean);
    save_invstd[c] = float(f.invstd);
    if (rmean) {
      rmean[c] = float(common::bn_running(rmean[c], mean, momentum));
      rvar[c] = float(common::bn_running(rvar[c], var * double(m) / double(m - 1), momentum));
    }
  }
  const float scale = float(f.scale), shift = float(f.shift);
  for (int64_t j = threadIdx.x; j < m; j += blockDim.x) {
    const int64_t i = at(j, c, C, HW);
    out[i] = from_float<T>(common::bn_act_fwd(to_float(inp[i]), scale, shift, slope));
  }
}

template <class T>
__global__ void bn_eval_forward_kernel(T* out, const T* inp, const float* gamma, const float* beta, const float* rmean,
                                       const float* rvar, int64_t C, int64_t HW, int64_t n, double eps, float slope) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t c = (i / HW) % C;
    const double scale = double(gamma[c]) / sqrt(double(rvar[c]) + eps);  // as the CPU's eval forward
    const double shift = double(beta[c]) - double(rmean[c]) * scale;
    out[i] = from_float<T>(common::bn_act_fwd(to_float(inp[i]), float(scale), float(shift), slope));
  }
}

__global__ void bn_eval_stats_kernel(float* mean, float* invstd, const float* rm, const float* rv, int64_t C,
                                     double eps) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C; c += (int64_t)gridDim.x * blockDim.x) {
    mean[c] = rm[c];
    invstd[c] = float(1.0 / sqrt(double(rv[c]) + eps));
  }
}

// g: the gradient at the normalised value (through the epilogue when y is given).
template <class T>
__device__ __forceinline__ float grad_at(const T* dout, const T* y, int64_t i, float slope) {
  const float dy = to_float(dout[i]);
  return y ? common::bn_act_grad(to_float(y[i]), dy, slope) : dy;
}

template <class T>
__global__ void bn_backward_kernel(T* dinp, float* dgamma, float* dbeta, const T* dout, const T* inp, const T* y,
                                   const float* gamma, const float* mean, const float* invstd, int64_t N, int64_t C,
                                   int64_t HW, bool batch_stats, float slope, bool accumulate) {
  const int64_t c = blockIdx.x, m = N * HW;
  double sg = 0, sgx = 0;
  for (int64_t j = threadIdx.x; j < m; j += blockDim.x) {
    const int64_t i = at(j, c, C, HW);
    const float g = grad_at(dout, y, i, slope);
    sg += g;
    sgx += double(g) * double(to_float(inp[i]));
  }
  const Pair<double> t = block_sum2(sg, sgx);
  const common::BnBackward b =
      common::bn_backward_coeffs(t.a, t.b, mean[c], invstd[c], gamma[c], double(m), batch_stats);
  if (threadIdx.x == 0) {
    if (dgamma) dgamma[c] += float(b.dgamma);
    if (dbeta) dbeta[c] += float(b.dbeta);
  }
  if (!dinp) return;
  const float k = float(b.k), mdy = float(b.mdy), mdyx = float(b.mdyx), mu = mean[c], is = invstd[c];
  for (int64_t j = threadIdx.x; j < m; j += blockDim.x) {
    const int64_t i = at(j, c, C, HW);
    const float v = common::bn_dx(grad_at(dout, y, i, slope), to_float(inp[i]), mu, is, k, mdy, mdyx);
    dinp[i] = from_float<T>(accumulate ? to_float(dinp[i]) + v : v);
  }
}

// The CPU kernels' scale and shift (kernels/cpu/batchnorm2d.h); the layer passes none here.
void no_scale_shift(const char* op, const void* scale, const void* shift) {
  CG_CHECK(!scale && !shift, op,
           ": the saved scale and shift are the CPU kernels'; the CUDA backward reads the output");
}

void check_dims(const char* op, int64_t N, int64_t C, int64_t HW) {
  CG_CHECK(N > 0 && C > 0 && HW > 0 && C <= INT_MAX, op, ": dimensions (", N, ",", C, ",", HW, ") out of range");
}

template <class T>
void forward_train(T* out, float* save_mean, float* save_invstd, float* rmean, float* rvar, const T* inp,
                   const float* gamma, const float* beta, int64_t N, int64_t C, int64_t HW, double momentum,
                   double eps, float slope) {
  NVTX_RANGE("batch_norm2d_forward_train");
  check_dims("batch_norm2d_forward_train", N, C, HW);
  CG_CHECK(N * HW > 1, "batch_norm2d_forward_train: needs more than one value per channel, got N*H*W = ", N * HW);
  CG_CHECK((rmean == nullptr) == (rvar == nullptr),
           "batch_norm2d_forward_train: running mean and variance must be both given or both absent");
  prof::add_work(0, 3.0 * double(N * C * HW) * sizeof(T));
  bn_train_forward_kernel<T><<<(unsigned)C, channel_block(N * HW), 0, stream()>>>(
      out, save_mean, save_invstd, rmean, rvar, inp, gamma, beta, N, C, HW, momentum, eps, slope);
  cudaCheck(cudaGetLastError());
}

template <class T>
void forward_eval(T* out, const T* inp, const float* gamma, const float* beta, const float* rmean, const float* rvar,
                  int64_t N, int64_t C, int64_t HW, double eps, float slope) {
  NVTX_RANGE("batch_norm2d_forward_eval");
  check_dims("batch_norm2d_forward_eval", N, C, HW);
  const int64_t n = N * C * HW;
  prof::add_work(0, 2.0 * double(n) * sizeof(T));
  bn_eval_forward_kernel<T><<<grid_for(n), 256, 0, stream()>>>(out, inp, gamma, beta, rmean, rvar, C, HW, n, eps,
                                                               slope);
  cudaCheck(cudaGetLastError());
}

template <class T>
void backward(T* dinp, float* dgamma, float* dbeta, const T* dout, const T* inp, const float* gamma,
              const float* mean, const float* invstd, int64_t N, int64_t C, int64_t HW, bool batch_stats,
              const T* out, float slope, bool accumulate) {
  NVTX_RANGE("batch_norm2d_backward");
  if (!dinp && !dgamma && !dbeta) return;
  check_dims("batch_norm2d_backward", N, C, HW);
  CG_CHECK(dout && inp && gamma && mean && invstd, "batch_norm2d_backward: a null input");
  prof::add_work(0, ((dinp ? 2.0 : 1.0) * (out ? 3.0 : 2.0) + (dinp ? (accumulate ? 2.0 : 1.0) : 0.0)) *
                        double(N * C * HW) * sizeof(T));
  bn_backward_kernel<T><<<(unsigned)C, channel_block(N * HW), 0, stream()>>>(
      dinp, dgamma, dbeta, dout, inp, out, gamma, mean, invstd, N, C, HW, batch_stats, slope, accumulate);
  cudaCheck(cudaGetLastError());
}

}  // namespace

void batch_norm2d_forward_train(float* out, float* sm, float* si, float* rm, float* rv, const float* inp,
                               const float* gamma, const float* beta, int64_t N, int64_t C, int64_t HW,
                               double momentum, double eps, float slope, float* save_scale, float* save_shift) {
  no_scale_shift("batch_norm2d_forward_train", save_scale, save_shift);
  forward_train(out, sm, si, rm, rv, inp, gamma, beta, N, C, HW, momentum, eps, slope);
}
void batch_norm2d_forward_train(bf16* out, float* sm, float* si, float* rm, float* rv, const bf16* inp,
                               const float* gamma, const float* beta, int64_t N, int64_t C, int64_t HW,
                               double momentum, double eps, float slope, float* save_scale, float* save_shift) {
  no_scale_shift("batch_norm2d_forward_train", save_scale, save_shift);
  forward_train(out, sm, si, rm, rv, inp, gamma, beta, N, C, HW, momentum, eps, slope);
}

void batch_norm2d_forward_eval(float* out, const float* inp, const float* gamma, const float* beta, const float* rm,
                              const float* rv, int64_t N, int64_t C, int64_t HW, double eps, float slope) {
  forward_eval(out, inp, gamma, beta, rm, rv, N, C, HW, eps, slope);
}
void batch_norm2d_forward_eval(bf16* out, const bf16* inp, const float* gamma, const float* beta, const float* rm,
                              const float* rv, int64_t N, int64_t C, int64_t HW, double eps, float slope) {
  forward_eval(out, inp, gamma, beta, rm, rv, N, C, HW, eps, slope);
}

void batch_norm2d_eval_stats(float* mean, float* invstd, const float* running_mean, const float* running_var,
                            int64_t C, double eps) {
  NVTX_RANGE_FN();
  bn_eval_stats_kernel<<<grid_for(C), 256, 0, stream()>>>(mean, invstd, running_mean, running_var, C, eps);
  cudaCheck(cudaGetLastError());
}

void batch_norm2d_backward(float* dinp, float* dgamma, float* dbeta, const float* dout, const float* inp,
                          const float* gamma, const float* mean, const float* invstd, int64_t N, int64_t C,
                          int64_t HW, bool batch_stats, double, const float* out, float slope, bool accumulate,
                          const float* scale, const float* shift) {
  no_scale_shift("batch_norm2d_backward", scale, shift);
  backward(dinp, dgamma, dbeta, dout, inp, gamma, mean, invstd, N, C, HW, batch_stats, out, slope, accumulate);
}
void batch_norm2d_backward(bf16* dinp, float* dgamma, float* dbeta, const bf16* dout, const bf16* inp,
                          const float* gamma, const float* mean, const float* invstd, int64_t N, int64_t C,
                          int64_t HW, bool batch_stats, double, const bf16* out, float slope, bool accumulate,
                          const float* scale, const float* shift) {
  no_scale_shift("batch_norm2d_backward", scale, shift);
  backward(dinp, dgamma, dbeta, dout, inp, gamma, mean, invstd, N, C, HW, batch_stats, out, slope, accumulate);
}

}  // namespace cg::cuda
