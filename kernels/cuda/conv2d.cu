// CUDA 2-D convolution (see conv2d.h): cuDNN forward, backward-data and backward-filter
// through the plans of conv_algo.h; the bias and its gradient are kernels/cuda/bias.h.
#include <type_traits>

#include "base/check.h"
#include "base/nvtx.h"
#include "base/profile.h"
#include "kernels/cuda/activations.h"
#include "kernels/cuda/bias.h"
#include "kernels/cuda/conv2d.h"
#include "kernels/cuda/conv_algo.h"

namespace cg::cuda {

namespace {

template <class T>
constexpr ConvData data_of() {
  return std::is_same_v<T, bf16> ? ConvData::bf16 : ConvData::f32;
}

double conv_flops(int64_t N, int64_t C, int64_t OC, int64_t K, const ConvGeom& g) {
  return 2.0 * double(N * OC * C * K * K) * double(g.OH()) * double(g.OW());
}

template <class T>
void forward(T* out, const T* inp, const T* weight, const float* bias, int64_t N, int64_t C, int64_t H, int64_t W,
             int64_t OC, int64_t K, int64_t stride, int64_t pad) {
  NVTX_RANGE("conv2d_forward");
  CG_CHECK(out && inp && weight, "conv2d_forward: null output, input or weight");
  const ConvGeom g = conv_geom("conv2d_forward", N, C, H, W, OC, K, stride, pad);
  prof::add_work(conv_flops(N, C, OC, K, g), 0);
  conv_run_forward(g, data_of<T>(), inp, weight, out, 0.f);
  if (bias) add_channel_bias(out, bias, N, OC, int64_t(g.OH()) * g.OW());
}

template <class T>
void backward(T* dinp, float* dweight, float* dbias, const T* dout, const T* inp, const T* weight, int64_t N,
              int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad, bool accumulate) {
  NVTX_RANGE("conv2d_backward");
  CG_CHECK(dout && inp && weight, "conv2d_backward: null dout, input or weight");
  const ConvGeom g = conv_geom("conv2d_backward", N, C, H, W, OC, K, stride, pad);
  prof::add_work(conv_flops(N, C, OC, K, g) * ((dinp ? 1 : 0) + (dweight ? 1 : 0)), 0);
  if (dbias) channel_bias_grad(dbias, dout, N, OC, int64_t(g.OH()) * g.OW());
  if (dinp) conv_run_backward_data(g, data_of<T>(), weight, dout, dinp, accumulate ? 1.f : 0.f);
  if (dweight) conv_run_weight_grad(g, data_of<T>(), inp, dout, dweight);
}

}  // namespace

void conv2d_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t N, int64_t C,
                    int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad) {
  forward(out, inp, weight, bias, N, C, H, W, OC, K, stride, pad);
}
void conv2d_forward(bf16* out, const bf16* inp, const bf16* weight, const float* bias, int64_t N, int64_t C,
                    int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad) {
  forward(out, inp, weight, bias, N, C, H, W, OC, K, stride, pad);
}
// cuDNN's convolution, then the activation in place: two launches (cuDNN's fused
// convolution-activation offers no LeakyReLU slope on every algorithm).
namespace {
template <class T>
void leaky_forward(T* out, const T* inp, const T* weight, const float* bias, int64_t N, int64_t C, int64_t H,
                   int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad, float slope) {
  NVTX_RANGE("conv2d_leaky_forward");
  forward(out, inp, weight, bias, N, C, H, W, OC, K, stride, pad);
  const int64_t OH = (H + 2 * pad - K) / stride + 1, OW = (W + 2 * pad - K) / stride + 1;
  activation_forward(out, out, N * OC * OH * OW, common::Activation::leaky_relu, slope);
}
}  // namespace

void conv2d_leaky_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t N, int64_t C,
                          int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad, float slope) {
  leaky_forward(out, inp, weight, bias, N, C, H, W, OC, K, stride, pad, slope);
}
void conv2d_leaky_forward(bf16* out, const bf16* inp, const bf16* weight, const float* bias, int64_t N, int64_t C,
                          int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad, float slope) {
  leaky_forward(out, inp, weight, bias, N, C, H, W, OC, K, stride, pad, slope);
}
void conv2d_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K,
                     int64_t stride, int64_t pad, bool accumulate) {
  backward(dinp, dweight, dbias, dout, inp, weight, N, C, H, W, OC, K, stride, pad, accumulate);
}
void conv2d_backward(bf16* dinp, float* dweight, float* dbias, const bf16* dout, const bf16* inp, const bf16* weight,
                     int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad,
                     bool accumulate) {
  backward(dinp, dweight, dbias, dout, inp, weight, N, C, H, W, OC, K, stride, pad, accumulate);
}

}  // namespace cg::cuda
