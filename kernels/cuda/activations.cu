// CUDA pointwise activations (see activations.h): grid-stride loops over the
// scalar math in kernels/common/activations.h, the same functions the CPU calls.
#include "base/nvtx.h"
#include "kernels/cuda/activations.h"
#include "base/cuda_context.h"
#include "base/cuda_check.h"

namespace cg::cuda {

// The activation is a template argument so each kernel's inner loop has no switch.
template <common::Activation A>
__global__ void activation_forward_kernel(float* out, const float* inp, int64_t n, float slope) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = common::activation_fwd(A, inp[i], slope);
}

template <common::Activation A>
__global__ void activation_backward_kernel(float* dinp, const float* dout, const float* inp, const float* out,
                                           int64_t n, float slope) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    dinp[i] += common::activation_bwd(A, inp[i], out[i], dout[i], slope);
}

template <common::Activation A>
static void launch_forward(float* out, const float* inp, int64_t n, float slope) {
  activation_forward_kernel<A><<<grid_for(n), 256, 0, stream()>>>(out, inp, n, slope);
  cudaCheck(cudaGetLastError());
}

template <common::Activation A>
static void launch_backward(float* dinp, const float* dout, const float* inp, const float* out, int64_t n,
                            float slope) {
  activation_backward_kernel<A><<<grid_for(n), 256, 0, stream()>>>(dinp, dout, inp, out, n, slope);
  cudaCheck(cudaGetLastError());
}

void activation_forward(float* out, const float* inp, int64_t n, common::Activation act, float slope) {
  NVTX_RANGE_FN();
  CG_CHECK(n >= 0 && (n == 0 || (out && inp)), "activation_forward: bad arguments (n = ", n, ")");
  if (n == 0) return;
  using common::Activation;
  switch (act) {
    case Activation::relu: return launch_forward<Activation::relu>(out, inp, n, slope);
    case Activation::leaky_relu: return launch_forward<Activation::leaky_relu>(out, inp, n, slope);
    case Activation::tanh: return launch_forward<Activation::tanh>(out, inp, n, slope);
    case Activation::sigmoid: return launch_forward<Activation::sigmoid>(out, inp, n, slope);
  }
  CG_FAIL("activation_forward: unknown activation ", (int)act);
}

void activation_backward(float* dinp, const float* dout, const float* inp, const float* out, int64_t n,
                         common::Activation act, float slope) {
  NVTX_RANGE_FN();
  CG_CHECK(n >= 0 && (n == 0 || (dinp && dout && inp && out)), "activation_backward: bad arguments (n = ", n,
           ")");
  if (n == 0) return;
  using common::Activation;
  switch (act) {
    case Activation::relu: return launch_backward<Activation::relu>(dinp, dout, inp, out, n, slope);
    case Activation::leaky_relu: return launch_backward<Activation::leaky_relu>(dinp, dout, inp, out, n, slope);
    case Activation::tanh: return launch_backward<Activation::tanh>(dinp, dout, inp, out, n, slope);
    case Activation::sigmoid: return launch_backward<Activation::sigmoid>(dinp, dout, inp, out, n, slope);
  }
  CG_FAIL("activation_backward: unknown activation ", (int)act);
}

}  // namespace cg::cuda
