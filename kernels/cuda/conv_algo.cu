// cuDNN convolution plans (see conv_algo.h). Algorithms come from the _v7 heuristics
// (no trial runs, so nothing is timed or written while choosing): the first one that
// reports success, runs under the wanted math type and whose workspace fits, with
// deterministic algorithms preferred so a run can be reproduced from its seed.
// Math: CUDNN_FMA_MATH (strict FP32) unless cuda::tf32_enabled(), then the heuristic's
// own math type (TF32 tensor cores allowed; no down-conversion to FP16).
#include <climits>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "base/cuda_context.h"
#include "kernels/cuda/conv_algo.h"
#include "base/cuda_check.h"

namespace cg::cuda {

namespace {

constexpr size_t kMaxWorkspace = size_t(1) << 30;  // bytes; algorithms wanting more are skipped

template <class Perf, class WorkspaceFn>
bool pick_algo(const Perf* perf, int n, bool tf32, cudnnConvolutionDescriptor_t conv, WorkspaceFn workspace_of,
               ConvPlan& plan) {
  for (int round = 0; round < 2; ++round)  // deterministic algorithms first, then any
    for (int i = 0; i < n; ++i) {
      const Perf& p = perf[i];
      if (p.status != CUDNN_STATUS_SUCCESS) continue;
      if (round == 0 && p.determinism != CUDNN_DETERMINISTIC) continue;
      if (tf32 && p.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) continue;
      if (cudnnSetConvolutionMathType(conv, tf32 ? p.mathType : CUDNN_FMA_MATH) != CUDNN_STATUS_SUCCESS) continue;
      size_t bytes = 0;
      if (workspace_of(p.algo, &bytes) != CUDNN_STATUS_SUCCESS || bytes > kMaxWorkspace) continue;
      plan.algo = static_cast<int>(p.algo);
      plan.workspace_bytes = bytes;
      return true;
    }
  return false;
}

bool choose_forward(ConvPlan& p, bool tf32) {
  cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  int n = 0;
  cudnnCheck(cudnnGetConvolutionForwardAlgorithm_v7(cudnn(), p.x, p.w, p.conv, p.y,
                                                    CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf));
  return pick_algo(perf, n, tf32, p.conv, [&](cudnnConvolutionFwdAlgo_t a, size_t* bytes) {
    return cudnnGetConvolutionForwardWorkspaceSize(cudnn(), p.x, p.w, p.conv, p.y, a, bytes);
  }, p);
}

bool choose_backward_data(ConvPlan& p, bool tf32) {
  cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
  int n = 0;
  cudnnCheck(cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnn(), p.w, p.y, p.conv, p.x,
                                                         CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf));
  return pick_algo(perf, n, tf32, p.conv, [&](cudnnConvolutionBwdDataAlgo_t a, size_t* bytes) {
    return cudnnGetConvolutionBackwardDataWorkspaceSize(cudnn(), p.w, p.y, p.conv, p.x, a, bytes);
  }, p);
}

bool choose_backward_filter(ConvPlan& p, bool tf32) {
  cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
  int n = 0;
  cudnnCheck(cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnn(), p.x, p.y, p.conv, p.w,
                                                           CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf));
  return pick_algo(perf, n, tf32, p.conv, [&](cudnnConvolutionBwdFilterAlgo_t a, size_t* bytes) {
    return cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnn(), p.x, p.y, p.conv, p.w, a, bytes);
  }, p);
}

std::unique_ptr<ConvPlan> make_plan(const ConvGeom& g, ConvPass pass, bool tf32) {
  auto p = std::make_unique<ConvPlan>();
  cudnnCheck(cudnnCreateTensorDescriptor(&p->x));
  cudnnCheck(cudnnCreateTensorDescriptor(&p->y));
  cudnnCheck(cudnnCreateTensorDescriptor(&p->xbias));
  cudnnCheck(cudnnCreateTensorDescriptor(&p->ybias));
  cudnnCheck(cudnnCreateFilterDescriptor(&p->w));
  cudnnCheck(cudnnCreateConvolutionDescriptor(&p->conv));
  cudnnCheck(cudnnSetTensor4dDescriptor(p->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, g.N, g.C, g.H, g.W));
  cudnnCheck(cudnnSetTensor4dDescriptor(p->y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, g.N, g.OC, g.OH(), g.OW()));
  cudnnCheck(cudnnSetTensor4dDescriptor(p->xbias, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, g.C, 1, 1));
  cudnnCheck(cudnnSetTensor4dDescriptor(p->ybias, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, g.OC, 1, 1));
  cudnnCheck(cudnnSetFilter4dDescriptor(p->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, g.OC, g.C, g.K, g.K));
  cudnnCheck(cudnnSetConvolution2dDescriptor(p->conv, g.pad, g.pad, g.stride, g.stride, 1, 1,
                                             CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  cudnnCheck(cudnnSetConvolutionMathType(p->conv, tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
  int n = 0, c = 0, h = 0, w = 0;
  cudnnCheck(cudnnGetConvolution2dForwardOutputDim(p->conv, p->x, p->w, &n, &c, &h, &w));
  CG_CHECK(n == g.N && c == g.OC && h == g.OH() && w == g.OW(), "conv (cuDNN): output (", n, ",", c, ",", h, ",",
           w, ") differs from the expected (", g.N, ",", g.OC, ",", g.OH(), ",", g.OW(), ")");
  const bool ok = pass == ConvPass::forward         ? choose_forward(*p, tf32)
                  : pass == ConvPass::backward_data ? choose_backward_data(*p, tf32)
                                                    : choose_backward_filter(*p, tf32);
  static const char* const kPassNames[] = {"forward", "backward-data", "backward-filter"};
  CG_CHECK(ok, "conv (cuDNN): no usable ", kPassNames[static_cast<int>(pass)], " algorithm for x (", g.N, ",", g.C,
           ",", g.H, ",", g.W, ") w (", g.OC, ",", g.C, ",", g.K, ",", g.K, ") stride ", g.stride, " pad ", g.pad,
           tf32 ? " with TF32" : " in strict FP32");
  return p;
}

}  // namespace

ConvPlan::~ConvPlan() {
  if (conv) cudnnDestroyConvolutionDescriptor(conv);
  if (w) cudnnDestroyFilterDescriptor(w);
  for (cudnnTensorDescriptor_t d : {x, y, xbias, ybias})
    if (d) cudnnDestroyTensorDescriptor(d);
}

ConvGeom conv_geom(const char* op, int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K,
                   int64_t stride, int64_t pad) {
  CG_CHECK(N > 0 && C > 0 && H > 0 && W > 0 && OC > 0 && K > 0 && stride > 0 && pad >= 0 && H + 2 * pad >= K &&
               W + 2 * pad >= K,
           op, ": bad convolution x (", N, ",", C, ",", H, ",", W, ") w (", OC, ",", C, ",", K, ",", K, ") stride ",
           stride, " pad ", pad);
  const int64_t OH = (H + 2 * pad - K) / stride + 1, OW = (W + 2 * pad - K) / stride + 1;
  CG_CHECK(N * C * H * W <= INT_MAX && N * OC * OH * OW <= INT_MAX && OC * C * K * K <= INT_MAX && pad <= INT_MAX &&
               stride <= INT_MAX,
           op, ": x (", N, ",", C, ",", H, ",", W, ") or its output exceeds cuDNN's int range");
  ConvGeom g;
  g.N = (int)N, g.C = (int)C, g.H = (int)H, g.W = (int)W, g.OC = (int)OC, g.K = (int)K;
  g.stride = (int)stride, g.pad = (int)pad;
  return g;
}

const ConvPlan& conv_plan(const ConvGeom& g, ConvPass pass) {
  static std::mutex mu;
  static std::map<std::tuple<ConvGeom, int, bool>, std::unique_ptr<ConvPlan>> cache;
  const bool tf32 = tf32_enabled();
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[{g, static_cast<int>(pass), tf32}];
  if (!slot) slot = make_plan(g, pass, tf32);
  return *slot;
}

}  // namespace cg::cuda
