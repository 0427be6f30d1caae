// CUDA pointwise activations (see activations.h): grid-stride loops over the scalar
// math in kernels/common/activations.h, the same functions the CPU calls, in float;
// bf16 tensors are widened on load and rounded on store.
#include "base/cuda_check.h"
#include "base/cuda_context.h"
#include "base/nvtx.h"
#include "base/profile.h"
#include "kernels/cuda/activations.h"

namespace cg::cuda {

namespace {

using common::Activation;
using common::from_float;
using common::to_float;

// The activation is a template argument so each kernel's inner loop has no switch.
template <Activation A, class T>
__global__ void activation_forward_kernel(T* out, const T* inp, int64_t n, float slope) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = from_float<T>(common::activation_fwd(A, to_float(inp[i]), slope));
}

template <Activation A, class T>
__global__ void activation_backward_kernel(T* dinp, const T* dout, const T* inp, const T* out, int64_t n, float slope,
                                           bool accumulate) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const float g = common::activation_bwd(A, to_float(inp[i]), to_float(out[i]), to_float(dout[i]), slope);
    dinp[i] = from_float<T>(accumulate ? to_float(dinp[i]) + g : g);
  }
}

template <Activation A, class T>
void launch_forward(T* out, const T* inp, int64_t n, float slope) {
  activation_forward_kernel<A, T><<<grid_for(n), 256, 0, stream()>>>(out, inp, n, slope);
  cudaCheck(cudaGetLastError());
}

template <Activation A, class T>
void launch_backward(T* dinp, const T* dout, const T* inp, const T* out, int64_t n, float slope, bool acc) {
  activation_backward_kernel<A, T><<<grid_for(n), 256, 0, stream()>>>(dinp, dout, inp, out, n, slope, acc);
  cudaCheck(cudaGetLastError());
}

template <class T>
void forward(T* out, const T* inp, int64_t n, Activation act, float slope) {
  NVTX_RANGE("activation_forward");
  CG_CHECK(n >= 0 && (n == 0 || (out && inp)), "activation_forward: bad arguments (n = ", n, ")");
  if (n == 0) return;
  prof::add_work(0, 2.0 * double(n) * sizeof(T));
  switch (act) {
    case Activation::relu: return launch_forward<Activation::relu>(out, inp, n, slope);
    case Activation::leaky_relu: return launch_forward<Activation::leaky_relu>(out, inp, n, slope);
    case Activation::tanh: return launch_forward<Activation::tanh>(out, inp, n, slope);
    case Activation::sigmoid: return launch_forward<Activation::sigmoid>(out, inp, n, slope);
  }
  CG_FAIL("activation_forward: unknown activation ", (int)act);
}

template <class T>
void backward(T* dinp, const T* dout, const T* inp, const T* out, int64_t n, Activation act, float slope, bool acc) {
  NVTX_RANGE("activation_backward");
  CG_CHECK(n >= 0 && (n == 0 || (dinp && dout && inp && out)), "activation_backward: bad arguments (n = ", n, ")");
  if (n == 0) return;
  prof::add_work(0, (acc ? 4.0 : 3.0) * double(n) * sizeof(T));
  switch (act) {
    case Activation::relu: return launch_backward<Activation::relu>(dinp, dout, inp, out, n, slope, acc);
    case Activation::leaky_relu: return launch_backward<Activation::leaky_relu>(dinp, dout, inp, out, n, slope, acc);
    case Activation::tanh: return launch_backward<Activation::tanh>(dinp, dout, inp, out, n, slope, acc);
    case Activation::sigmoid: return launch_backward<Activation::sigmoid>(dinp, dout, inp, out, n, slope, acc);
  }
  CG_FAIL("activation_backward: unknown activation ", (int)act);
}

}  // namespace

void activation_forward(float* out, const float* inp, int64_t n, Activation act, float slope) {
  forward(out, inp, n, act, slope);
}
void activation_forward(bf16* out, const bf16* inp, int64_t n, Activation act, float slope) {
  forward(out, inp, n, act, slope);
}
void activation_backward(float* dinp, const float* dout, const float* inp, const float* out, int64_t n,
                         Activation act, float slope, bool accumulate) {
  backward(dinp, dout, inp, out, n, act, slope, accumulate);
}
void activation_backward(bf16* dinp, const bf16* dout, const bf16* inp, const bf16* out, int64_t n, Activation act,
                         float slope, bool accumulate) {
  backward(dinp, dout, inp, out, n, act, slope, accumulate);
}

}  // namespace cg::cuda
