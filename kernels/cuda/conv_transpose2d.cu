// CUDA transposed convolution (see conv_transpose2d.h) on cuDNN, through the conv2d it
// is the adjoint of: that conv2d maps (N,OC,OH,OW) to our input (N,C,H,W) with weight
// (C,OC,K,K), our exact weight layout. So forward is its backward-data, dinp its
// forward, dweight its backward-filter with our dout as its x and our input as its dy.
#include "base/nvtx.h"
#include "base/profile.h"
#include "base/cuda_context.h"
#include "kernels/cuda/conv_algo.h"
#include "kernels/cuda/conv_transpose2d.h"
#include "base/cuda_check.h"
#include "kernels/cuda/scratch.h"

namespace cg::cuda {

namespace {
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
}  // namespace

void conv_transpose2d_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t N,
                              int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad) {
  NVTX_RANGE_FN();
  prof::add_work(2.0 * double(N * C * OC * K * K * H * W), 0);
  CG_CHECK(out && inp && weight, "conv_transpose2d_forward: null output, input or weight");
  const ConvGeom g = adjoint_geom("conv_transpose2d_forward", N, C, H, W, OC, K, stride, pad);
  const ConvPlan& p = conv_plan(g, ConvPass::backward_data);
  const float one = 1.f, zero = 0.f;
  void* ws = workspace(p.workspace_bytes);
  cudnnCheck(cudnnConvolutionBackwardData(cudnn(), &one, p.w, weight, p.y, inp, p.conv,
                                          static_cast<cudnnConvolutionBwdDataAlgo_t>(p.algo), ws,
                                          p.workspace_bytes, &zero, p.x, out));
  if (bias) cudnnCheck(cudnnAddTensor(cudnn(), &one, p.xbias, bias, &one, p.x, out));
}

void conv_transpose2d_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                               const float* weight, int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC,
                               int64_t K, int64_t stride, int64_t pad) {
  NVTX_RANGE_FN();
  prof::add_work(2.0 * double(N * C * OC * K * K * H * W) * ((dinp ? 1 : 0) + (dweight ? 1 : 0)), 0);
  CG_CHECK(dout && inp && weight, "conv_transpose2d_backward: null dout, input or weight");
  const ConvGeom g = adjoint_geom("conv_transpose2d_backward", N, C, H, W, OC, K, stride, pad);
  const float one = 1.f;
  if (dbias) {
    const ConvPlan& p = conv_plan(g, ConvPass::backward_data);  // the forward's plan, already made
    cudnnCheck(cudnnConvolutionBackwardBias(cudnn(), &one, p.x, dout, &one, p.xbias, dbias));
  }
  if (dinp) {
    const ConvPlan& p = conv_plan(g, ConvPass::forward);
    void* ws = workspace(p.workspace_bytes);
    cudnnCheck(cudnnConvolutionForward(cudnn(), &one, p.x, dout, p.w, weight, p.conv,
                                       static_cast<cudnnConvolutionFwdAlgo_t>(p.algo), ws, p.workspace_bytes, &one,
                                       p.y, dinp));
  }
  if (dweight) {
    const ConvPlan& p = conv_plan(g, ConvPass::backward_filter);
    void* ws = workspace(p.workspace_bytes);
    cudnnCheck(cudnnConvolutionBackwardFilter(cudnn(), &one, p.x, dout, p.y, inp, p.conv,
                                              static_cast<cudnnConvolutionBwdFilterAlgo_t>(p.algo), ws,
                                              p.workspace_bytes, &one, p.w, dweight));
  }
}

}  // namespace cg::cuda
