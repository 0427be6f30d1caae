// CUDA 2-D convolution (see conv2d.h): cuDNN forward, backward-data, backward-filter
// and backward-bias with plans from conv_algo.h. Gradients accumulate through beta = 1.
#include "base/nvtx.h"
#include "base/profile.h"
#include "base/cuda_context.h"
#include "kernels/cuda/conv2d.h"
#include "kernels/cuda/conv_algo.h"
#include "base/cuda_check.h"
#include "kernels/cuda/scratch.h"

namespace cg::cuda {

void conv2d_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t N, int64_t C,
                    int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad) {
  NVTX_RANGE_FN();
  prof::add_work(2.0 * double(N * OC * C * K * K) * double(((H + 2 * pad - K) / stride + 1) * ((W + 2 * pad - K) / stride + 1)), 0);
  CG_CHECK(out && inp && weight, "conv2d_forward: null output, input or weight");
  const ConvPlan& p = conv_plan(conv_geom("conv2d_forward", N, C, H, W, OC, K, stride, pad), ConvPass::forward);
  const float one = 1.f, zero = 0.f;
  void* ws = workspace(p.workspace_bytes);
  cudnnCheck(cudnnConvolutionForward(cudnn(), &one, p.x, inp, p.w, weight, p.conv,
                                     static_cast<cudnnConvolutionFwdAlgo_t>(p.algo), ws, p.workspace_bytes, &zero,
                                     p.y, out));
  if (bias) cudnnCheck(cudnnAddTensor(cudnn(), &one, p.ybias, bias, &one, p.y, out));
}

void conv2d_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K,
                     int64_t stride, int64_t pad) {
  NVTX_RANGE_FN();
  prof::add_work(2.0 * double(N * OC * C * K * K) * double(((H + 2 * pad - K) / stride + 1) * ((W + 2 * pad - K) / stride + 1)) * ((dinp ? 1 : 0) + (dweight ? 1 : 0)), 0);
  CG_CHECK(dout && inp && weight, "conv2d_backward: null dout, input or weight");
  const ConvGeom g = conv_geom("conv2d_backward", N, C, H, W, OC, K, stride, pad);
  const float one = 1.f;
  if (dbias) {
    const ConvPlan& p = conv_plan(g, ConvPass::forward);  // any plan of g has the descriptors
    cudnnCheck(cudnnConvolutionBackwardBias(cudnn(), &one, p.y, dout, &one, p.ybias, dbias));
  }
  if (dinp) {
    const ConvPlan& p = conv_plan(g, ConvPass::backward_data);
    void* ws = workspace(p.workspace_bytes);
    cudnnCheck(cudnnConvolutionBackwardData(cudnn(), &one, p.w, weight, p.y, dout, p.conv,
                                            static_cast<cudnnConvolutionBwdDataAlgo_t>(p.algo), ws,
                                            p.workspace_bytes, &one, p.x, dinp));
  }
  if (dweight) {
    const ConvPlan& p = conv_plan(g, ConvPass::backward_filter);
    void* ws = workspace(p.workspace_bytes);
    cudnnCheck(cudnnConvolutionBackwardFilter(cudnn(), &one, p.x, inp, p.y, dout, p.conv,
                                              static_cast<cudnnConvolutionBwdFilterAlgo_t>(p.algo), ws,
                                              p.workspace_bytes, &one, p.w, dweight));
  }
}

}  // namespace cg::cuda
