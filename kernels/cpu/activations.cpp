// CPU pointwise activations (see activations.h): OpenMP + SIMD loops over the shared scalar
// math of kernels/common/activations.h, one specialised loop per activation.
#include "kernels/cpu/activations.h"

#include "base/nvtx.h"
#include "base/profile.h"
#include "kernels/cpu/parallel.h"

namespace cg::cpu {

namespace {

constexpr int64_t kParallelMin = 65536;

// The switch on the activation is taken once per call, outside the loop, so each loop
// body is one inlined scalar function the compiler can vectorise.
template <class T, class F>
void map_unary(T* out, const T* inp, int64_t n, F f) {
  parallel_each(n, kParallelMin, [&](int64_t i) { out[i] = f(inp[i]); });
}

template <class T, class F>
void accumulate_grad(T* dinp, const T* dout, const T* inp, const T* out, int64_t n, bool accumulate, F f) {
  if (accumulate) {
    parallel_each(n, kParallelMin, [&](int64_t i) { dinp[i] += f(inp[i], out[i], dout[i]); });
  } else {
    parallel_each(n, kParallelMin, [&](int64_t i) { dinp[i] = f(inp[i], out[i], dout[i]); });
  }
}

}  // namespace

template <class T>
void activation_forward(T* out, const T* inp, int64_t n, common::Activation act, T slope) {
  NVTX_RANGE_FN();
  prof::add_work(double(n), 2.0 * double(n) * sizeof(T));  // FLOPs of pointwise ops: one per operation written
  using common::Activation;
  switch (act) {
    case Activation::relu: return map_unary(out, inp, n, [](T x) { return common::relu_fwd(x); });
    case Activation::leaky_relu:
      return map_unary(out, inp, n, [slope](T x) { return common::leaky_relu_fwd(x, slope); });
    case Activation::tanh: return map_unary(out, inp, n, [](T x) { return common::tanh_cpu(x); });
    case Activation::sigmoid: return map_unary(out, inp, n, [](T x) { return common::sigmoid_fwd(x); });
  }
  map_unary(out, inp, n, [act, slope](T x) { return common::activation_fwd(act, x, slope); });
}

template <class T>
void activation_backward(T* dinp, const T* dout, const T* inp, const T* out, int64_t n, common::Activation act,
                         T slope, bool accumulate) {
  NVTX_RANGE_FN();
  prof::add_work((accumulate ? 2.0 : 1.0) * double(n), (accumulate ? 4.0 : 3.0) * double(n) * sizeof(T));  // dinp (read and) written, dout, x or y
  using common::Activation;
  const bool acc = accumulate;
  switch (act) {
    case Activation::relu:
      return accumulate_grad(dinp, dout, inp, out, n, acc, [](T x, T, T dy) { return common::relu_bwd(x, dy); });
    case Activation::leaky_relu:
      return accumulate_grad(dinp, dout, inp, out, n, acc,
                             [slope](T x, T, T dy) { return common::leaky_relu_bwd(x, dy, slope); });
    case Activation::tanh:
      return accumulate_grad(dinp, dout, inp, out, n, acc, [](T, T y, T dy) { return common::tanh_bwd(y, dy); });
    case Activation::sigmoid:
      return accumulate_grad(dinp, dout, inp, out, n, acc,
                             [](T, T y, T dy) { return common::sigmoid_bwd(y, dy); });
  }
  accumulate_grad(dinp, dout, inp, out, n, acc,
                  [act, slope](T x, T y, T dy) { return common::activation_bwd(act, x, y, dy, slope); });
}

template <class T>
void leaky_relu_pass(T* out, const T* inp, int64_t n, T slope) {
  NVTX_RANGE_FN();
  prof::add_work(0.0, 2.0 * double(n) * sizeof(T));
  map_unary(out, inp, n, [slope](T x) { return common::leaky_relu_fwd(x, slope); });
}

template <class T>
void leaky_relu_grad_pass(T* dz, const T* dout, const T* a, int64_t n, T slope) {
  NVTX_RANGE_FN();
  prof::add_work(0.0, 3.0 * double(n) * sizeof(T));
  accumulate_grad(dz, dout, a, a, n, false, [slope](T y, T, T dy) { return common::leaky_relu_bwd_from_out(y, dy, slope); });
}

template void leaky_relu_pass<float>(float*, const float*, int64_t, float);
template void leaky_relu_pass<double>(double*, const double*, int64_t, double);
template void leaky_relu_grad_pass<float>(float*, const float*, const float*, int64_t, float);
template void leaky_relu_grad_pass<double>(double*, const double*, const double*, int64_t, double);
template void activation_forward<float>(float*, const float*, int64_t, common::Activation, float);
template void activation_forward<double>(double*, const double*, int64_t, common::Activation, double);
template void activation_backward<float>(float*, const float*, const float*, const float*, int64_t,
                                         common::Activation, float, bool);
template void activation_backward<double>(double*, const double*, const double*, const double*, int64_t,
                                          common::Activation, double, bool);

}  // namespace cg::cpu
