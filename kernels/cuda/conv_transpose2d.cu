// CUDA transposed convolution (see conv_transpose2d.h) on cuDNN, through the conv2d it
// is the adjoint of: that conv2d maps (N,OC,OH,OW) to our input (N,C,H,W) with weight
// (C,OC,K,K), our exact weight layout. So forward is its backward-data, dinp its
// forward, dweight its backward-filter with our dout as its x and our input as its dy.
#include <type_traits>

#include "base/check.h"
#include "base/nvtx.h"
#include "base/profile.h"
#include "kernels/cuda/bias.h"
#include "kernels/cuda/conv_algo.h"
#include "kernels/cuda/conv_transpose2d.h"

namespace cg::cuda {

namespace {

template <class T>
constexpr ConvData data_of() {
  return std::is_same_v<T, bf16> ? ConvData::bf16 : ConvData::f32;
}

// The adjoint conv2d's geometry: x (N,OC,OH,OW), w (C,OC,K,K), y (N,C,H,W).
ConvGeom adjoint_geom(const char* op, int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K,
                      int64_t stride, int64_t pad) {
  const int64_t OH = (H - 1) * stride - 2 * pad + K, OW = (W - 1) * stride - 2 * pad + K;
  CG_CHECK(OH >= 1 && OW >= 1, op, ": input (", N, ",", C, ",", H, ",", W, ") with kernel ", K, " stride ", stride,
           " pad ", pad, " gives an empty output");
  const ConvGeom g = conv_geom(op, N, OC, OH, OW, C, K, stride, pad);
  CG_CHECK(g.OH() == H && g.OW() == W, op, ": adjoint convolution maps to (", g.OH(), ",", g.OW(), ") not (", H,
           ",", W, ")");
  return g;
}

template <class T>
void forward(T* out, const T* inp, const T* weight, const float* bias, int64_t N, int64_t C, int64_t H, int64_t W,
             int64_t OC, int64_t K, int64_t stride, int64_t pad) {
  NVTX_RANGE("conv_transpose2d_forward");
  prof::add_work(2.0 * double(N * C * OC * K * K * H * W), 0);
  CG_CHECK(out && inp && weight, "conv_transpose2d_forward: null output, input or weight");
  const ConvGeom g = adjoint_geom("conv_transpose2d_forward", N, C, H, W, OC, K, stride, pad);
  conv_run_backward_data(g, data_of<T>(), weight, inp, out, 0.f);
  if (bias) add_channel_bias(out, bias, N, OC, int64_t(g.H) * g.W);
}

template <class T>
void backward(T* dinp, float* dweight, float* dbias, const T* dout, const T* inp, const T* weight, int64_t N,
              int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad, bool accumulate) {
  NVTX_RANGE("conv_transpose2d_backward");
  prof::add_work(2.0 * double(N * C * OC * K * K * H * W) * ((dinp ? 1 : 0) + (dweight ? 1 : 0)), 0);
  CG_CHECK(dout && inp && weight, "conv_transpose2d_backward: null dout, input or weight");
  const ConvGeom g = adjoint_geom("conv_transpose2d_backward", N, C, H, W, OC, K, stride, pad);
  if (dbias) channel_bias_grad(dbias, dout, N, OC, int64_t(g.H) * g.W);
  if (dinp) conv_run_forward(g, data_of<T>(), dout, weight, dinp, accumulate ? 1.f : 0.f);
  if (dweight) conv_run_weight_grad(g, data_of<T>(), dout, inp, dweight);
}

}  // namespace

void conv_transpose2d_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t N,
                              int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad) {
  forward(out, inp, weight, bias, N, C, H, W, OC, K, stride, pad);
}
void conv_transpose2d_forward(bf16* out, const bf16* inp, const bf16* weight, const float* bias, int64_t N, int64_t C,
                              int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad) {
  forward(out, inp, weight, bias, N, C, H, W, OC, K, stride, pad);
}
void conv_transpose2d_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                               const float* weight, int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC,
                               int64_t K, int64_t stride, int64_t pad, bool accumulate) {
  backward(dinp, dweight, dbias, dout, inp, weight, N, C, H, W, OC, K, stride, pad, accumulate);
}
void conv_transpose2d_backward(bf16* dinp, float* dweight, float* dbias, const bf16* dout, const bf16* inp,
                               const bf16* weight, int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K,
                               int64_t stride, int64_t pad, bool accumulate) {
  backward(dinp, dweight, dbias, dout, inp, weight, N, C, H, W, OC, K, stride, pad, accumulate);
}

}  // namespace cg::cuda
