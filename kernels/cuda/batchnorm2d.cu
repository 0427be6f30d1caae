// CUDA BatchNorm2d (see batchnorm2d.h). Training forward, eval forward and the
// training backward are cuDNN calls (CUDNN_BATCHNORM_SPATIAL; cuDNN's running
// variance uses the unbiased batch variance, as PyTorch). The eval-mode backward,
// which cuDNN lacks, is two small kernels and per-channel sums as cuBLAS GEMVs.
#include <climits>

#include "base/nvtx.h"
#include "kernels/cuda/batchnorm2d.h"
#include "base/cuda_context.h"
#include "kernels/common/activations.h"
#include "base/cuda_check.h"
#include "kernels/cuda/scratch.h"

namespace cg::cuda {

namespace {

// One cuDNN tensor descriptor, destroyed with its scope.
struct TensorDesc {
  cudnnTensorDescriptor_t d = nullptr;
  TensorDesc() { cudnnCheck(cudnnCreateTensorDescriptor(&d)); }
  ~TensorDesc() { cudnnDestroyTensorDescriptor(d); }
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
};

// x as (N,C,HW,1) NCHW float, and the derived (1,C,1,1) descriptor of the per-channel tensors.
struct BnDescs {
  TensorDesc x, bn;
  BnDescs(int64_t N, int64_t C, int64_t HW) {
    CG_CHECK(N > 0 && C > 0 && HW > 0 && N <= INT_MAX && C <= INT_MAX && HW <= INT_MAX,
             "batchnorm2d (cuDNN): dimensions (", N, ",", C, ",", HW, ") out of range");
    cudnnCheck(cudnnSetTensor4dDescriptor(x.d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, (int)N, (int)C, (int)HW, 1));
    cudnnCheck(cudnnDeriveBNTensorDescriptor(bn.d, x.d, CUDNN_BATCHNORM_SPATIAL));
  }
};

constexpr int64_t kAlign = 64;  // floats: keeps each scratch piece 256-byte aligned
int64_t aligned(int64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

__global__ void bn_eval_stats_kernel(float* mean, float* invstd, const float* rm, const float* rv, int64_t C,
                                     float eps) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C; c += (int64_t)gridDim.x * blockDim.x) {
    mean[c] = rm[c];
    invstd[c] = 1.f / sqrtf(rv[c] + eps);
  }
}

// Eval backward, per element: dinp += gamma*invstd*dy; xhat_dy = dy * (x - mean) * invstd.
__global__ void bn_eval_backward_kernel(float* dinp, float* xhat_dy, const float* dout, const float* inp,
                                       const float* gamma, const float* mean, const float* invstd, int64_t C,
                                       int64_t HW, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t c = (i / HW) % C;
    if (dinp) dinp[i] += gamma[c] * invstd[c] * dout[i];
    if (xhat_dy) xhat_dy[i] = dout[i] * (inp[i] - mean[c]) * invstd[c];
  }
}

// The LeakyReLU epilogue, in place on cuDNN's normalised output.
__global__ void bn_act_forward_kernel(float* out, int64_t n, float slope) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = common::leaky_relu_fwd(out[i], slope);
}

// dpre = the gradient at the normalised value, from the epilogue's output: what cuDNN's backward takes as dy.
__global__ void bn_act_backward_kernel(float* dpre, const float* dout, const float* out, int64_t n, float slope) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    dpre[i] = common::leaky_relu_bwd_from_out(out[i], dout[i], slope);
}

void act_forward(float* out, int64_t n, float slope) {
  if (slope == 1.f) return;
  bn_act_forward_kernel<<<grid_for(n), 256, 0, stream()>>>(out, n, slope);
  cudaCheck(cudaGetLastError());
}

// acc (C) += sum over (N,HW) of v (N,C,HW): a GEMV over HW into rows (N*C), then one over N.
// ones_vec holds at least max(HW, N) ones.
void channel_sum_accumulate(float* acc, const float* v, float* rows, const float* ones_vec, int64_t N, int64_t C,
                            int64_t HW) {
  const float one = 1.f, zero = 0.f;
  // Column-major v is (HW, N*C): rows = v^T @ ones(HW).
  cublasCheck(cublasSgemv(cublas(), CUBLAS_OP_T, (int)HW, (int)(N * C), &one, v, (int)HW, ones_vec, 1, &zero,
                          rows, 1));
  // Column-major rows is (C, N): acc += rows @ ones(N).
  cublasCheck(cublasSgemv(cublas(), CUBLAS_OP_N, (int)C, (int)N, &one, rows, (int)C, ones_vec, 1, &one, acc, 1));
}

// ws: scratch of aligned(N*C*HW) + aligned(N*C) floats.
void backward_eval(float* dinp, float* dgamma, float* dbeta, const float* dout, const float* inp,
                   const float* gamma, const float* mean, const float* invstd, int64_t N, int64_t C, int64_t HW,
                   float* ws) {
  const int64_t n = N * C * HW;
  CG_CHECK(n <= INT_MAX, "batch_norm2d_backward: ", n, " elements exceed cuBLAS's int range");
  float* xhat_dy = dgamma ? ws : nullptr;
  float* rows = ws + aligned(n);
  bn_eval_backward_kernel<<<grid_for(n), 256, 0, stream()>>>(dinp, xhat_dy, dout, inp, gamma, mean, invstd, C,
                                                              HW, n);
  cudaCheck(cudaGetLastError());
  const float* ones_vec = ones(HW > N ? HW : N);  // one call: a later, larger one may reallocate
  if (dgamma) channel_sum_accumulate(dgamma, xhat_dy, rows, ones_vec, N, C, HW);
  if (dbeta) channel_sum_accumulate(dbeta, dout, rows, ones_vec, N, C, HW);
}

}  // namespace

void batch_norm2d_forward_train(float* out, float* save_mean, float* save_invstd, float* running_mean,
                               float* running_var, const float* inp, const float* gamma, const float* beta,
                               int64_t N, int64_t C, int64_t HW, double momentum, double eps, float slope) {
  NVTX_RANGE_FN();
  CG_CHECK(N * HW > 1, "batch_norm2d_forward_train: needs more than one value per channel, got N*H*W = ", N * HW);
  CG_CHECK((running_mean == nullptr) == (running_var == nullptr),
           "batch_norm2d_forward_train: running mean and variance must be both given or both absent");
  CG_CHECK(eps >= CUDNN_BN_MIN_EPSILON, "batch_norm2d_forward_train: eps ", eps, " below cuDNN's minimum");
  BnDescs d(N, C, HW);
  const float one = 1.f, zero = 0.f;
  // exponentialAverageFactor = momentum: running = (1-m) running + m batch, the variance unbiased.
  cudnnCheck(cudnnBatchNormalizationForwardTraining(cudnn(), CUDNN_BATCHNORM_SPATIAL, &one, &zero, d.x.d, inp,
                                                    d.x.d, out, d.bn.d, gamma, beta, momentum, running_mean,
                                                    running_var, eps, save_mean, save_invstd));
  act_forward(out, N * C * HW, slope);
}

void batch_norm2d_forward_eval(float* out, const float* inp, const float* gamma, const float* beta,
                              const float* running_mean, const float* running_var, int64_t N, int64_t C,
                              int64_t HW, double eps, float slope) {
  NVTX_RANGE_FN();
  CG_CHECK(eps >= CUDNN_BN_MIN_EPSILON, "batch_norm2d_forward_eval: eps ", eps, " below cuDNN's minimum");
  BnDescs d(N, C, HW);
  const float one = 1.f, zero = 0.f;
  cudnnCheck(cudnnBatchNormalizationForwardInference(cudnn(), CUDNN_BATCHNORM_SPATIAL, &one, &zero, d.x.d, inp,
                                                     d.x.d, out, d.bn.d, gamma, beta, running_mean, running_var,
                                                     eps));
  act_forward(out, N * C * HW, slope);
}

void batch_norm2d_eval_stats(float* mean, float* invstd, const float* running_mean, const float* running_var,
                            int64_t C, double eps) {
  NVTX_RANGE_FN();
  bn_eval_stats_kernel<<<grid_for(C), 256, 0, stream()>>>(mean, invstd, running_mean, running_var, C, (float)eps);
  cudaCheck(cudaGetLastError());
}

void batch_norm2d_backward(float* dinp, float* dgamma, float* dbeta, const float* dout, const float* inp,
                          const float* gamma, const float* mean, const float* invstd, int64_t N, int64_t C,
                          int64_t HW, bool batch_stats, double eps, const float* out, float slope) {
  NVTX_RANGE_FN();
  if (!dinp && !dgamma && !dbeta) return;
  const int64_t n = N * C * HW;
  // One workspace call for every piece (a second call may move the first): the epilogue's
  // dpre, then the eval path's scratch or the dx / parameter scratch of cuDNN's.
  const bool act = out != nullptr && slope != 1.f;
  const int64_t pre_floats = act ? aligned(n) : 0;
  const int64_t rest = batch_stats ? (dinp ? 0 : aligned(n)) + 2 * aligned(C) : aligned(n) + aligned(N * C);
  float* ws = static_cast<float*>(workspace(sizeof(float) * (size_t)(pre_floats + rest)));
  if (act) {
    bn_act_backward_kernel<<<grid_for(n), 256, 0, stream()>>>(ws, dout, out, n, slope);
    cudaCheck(cudaGetLastError());
    dout = ws;
  }
  ws += pre_floats;
  if (!batch_stats) return backward_eval(dinp, dgamma, dbeta, dout, inp, gamma, mean, invstd, N, C, HW, ws);
  BnDescs d(N, C, HW);
  // cuDNN always writes dx, dgamma and dbeta: gradients nobody wants land in scratch.
  float* dx = dinp ? dinp : ws;
  float* params_scratch = ws + (dinp ? 0 : aligned(n));
  if (!dgamma || !dbeta)  // the parameter blend below reads its destination (beta = 1)
    cudaCheck(cudaMemsetAsync(params_scratch, 0, sizeof(float) * (size_t)(2 * aligned(C)), stream()));
  float* dg = dgamma ? dgamma : params_scratch;
  float* db = dbeta ? dbeta : params_scratch + aligned(C);
  const float one = 1.f, data_beta = dinp ? 1.f : 0.f;
  // Blend factors: dst = alpha * result + beta * dst, so beta = 1 accumulates into existing gradients.
  cudnnCheck(cudnnBatchNormalizationBackward(cudnn(), CUDNN_BATCHNORM_SPATIAL, &one, &data_beta, &one, &one, d.x.d,
                                             inp, d.x.d, dout, d.x.d, dx, d.bn.d, gamma, dg, db, eps, mean,
                                             invstd));
}

}  // namespace cg::cuda
