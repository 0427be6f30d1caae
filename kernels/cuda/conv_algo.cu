// cuDNN convolution plans (see conv_algo.h). Math by data type and precision:
// FP32 data in strict fp32 mode runs CUDNN_FMA_MATH (no tensor cores); FP32 data in tf32
// or bf16 mode CUDNN_DEFAULT_MATH (TF32 tensor cores allowed, as PyTorch's allow_tf32);
// bf16 data CUDNN_TENSOR_OP_MATH with FP32 accumulation. Never
// CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION (a silent down-conversion to FP16).
// Measuring: cudnnFind*AlgorithmEx times every algorithm on the real inputs, the
// outputs going to a scratch buffer, and keeps the fastest whose workspace fits
// CudaMath::workspace_limit. Deterministic mode: the _v7 heuristic order, deterministic
// algorithms first, nothing run.
#include <climits>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "base/check.h"
#include "base/cuda_check.h"
#include "base/cuda_context.h"
#include "base/precision.h"
#include "kernels/cuda/conv_algo.h"
#include "kernels/cuda/cast.h"
#include "kernels/cuda/conv_algo_cache.h"
#include "kernels/cuda/scratch.h"

namespace cg::cuda {

namespace {

const char* const kPassNames[] = {"forward", "backward-data", "backward-filter"};

// The math class of a plan: 0 strict FP32, 1 TF32 allowed, 2 bf16 tensor cores.
int math_class(ConvData dt, Precision p) { return dt == ConvData::bf16 ? 2 : (p == Precision::fp32 ? 0 : 1); }
cudnnMathType_t desc_math(int cls) {
  return cls == 0 ? CUDNN_FMA_MATH : cls == 1 ? CUDNN_DEFAULT_MATH : CUDNN_TENSOR_OP_MATH;
}
bool math_allowed(int cls, cudnnMathType_t m) {
  if (m == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) return false;
  return cls != 0 || m == CUDNN_FMA_MATH || m == CUDNN_DEFAULT_MATH;
}

size_t data_bytes(ConvData dt) { return dt == ConvData::bf16 ? 2 : 4; }

// The workspace cuDNN needs for algo under the descriptor's current math type.
cudnnStatus_t workspace_of(const ConvPlan& p, ConvPass pass, int algo, size_t* bytes) {
  switch (pass) {
    case ConvPass::forward:
      return cudnnGetConvolutionForwardWorkspaceSize(cudnn(), p.x, p.w, p.conv, p.y,
                                                     static_cast<cudnnConvolutionFwdAlgo_t>(algo), bytes);
    case ConvPass::backward_data:
      return cudnnGetConvolutionBackwardDataWorkspaceSize(cudnn(), p.w, p.y, p.conv, p.x,
                                                          static_cast<cudnnConvolutionBwdDataAlgo_t>(algo), bytes);
    case ConvPass::backward_filter:
      return cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnn(), p.x, p.y, p.conv, p.w,
                                                            static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo), bytes);
  }
  return CUDNN_STATUS_BAD_PARAM;
}

// Sets algo and its math type on p when its workspace fits; false otherwise.
bool adopt(ConvPlan& p, ConvPass pass, int cls, int algo, cudnnMathType_t m, size_t limit) {
  const cudnnMathType_t use = cls == 0 ? CUDNN_FMA_MATH : m;
  if (cudnnSetConvolutionMathType(p.conv, use) != CUDNN_STATUS_SUCCESS) return false;
  size_t bytes = 0;
  if (workspace_of(p, pass, algo, &bytes) != CUDNN_STATUS_SUCCESS || bytes > limit) return false;
  p.algo = algo;
  p.math = use;
  p.workspace_bytes = bytes;
  return true;
}

// Picks from perf results (the heuristic's order or the measured one, fastest first).
template <class Perf>
bool pick(ConvPlan& p, ConvPass pass, int cls, const Perf* perf, int n, size_t limit, bool deterministic_first) {
  for (int round = deterministic_first ? 0 : 1; round < 2; ++round)
    for (int i = 0; i < n; ++i) {
      const Perf& r = perf[i];
      if (r.status != CUDNN_STATUS_SUCCESS || !math_allowed(cls, r.mathType)) continue;
      if (round == 0 && r.determinism != CUDNN_DETERMINISTIC) continue;
      if (adopt(p, pass, cls, static_cast<int>(r.algo), r.mathType, limit)) return true;
    }
  return false;
}

bool choose_by_heuristic(ConvPlan& p, ConvPass pass, int cls, size_t limit) {
  int n = 0;
  switch (pass) {
    case ConvPass::forward: {
      cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
      cudnnCheck(cudnnGetConvolutionForwardAlgorithm_v7(cudnn(), p.x, p.w, p.conv, p.y,
                                                        CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf));
      return pick(p, pass, cls, perf, n, limit, true);
    }
    case ConvPass::backward_data: {
      cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
      cudnnCheck(cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnn(), p.w, p.y, p.conv, p.x,
                                                             CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf));
      return pick(p, pass, cls, perf, n, limit, true);
    }
    case ConvPass::backward_filter: {
      cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
      cudnnCheck(cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnn(), p.x, p.y, p.conv, p.w,
                                                               CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf));
      return pick(p, pass, cls, perf, n, limit, true);
    }
  }
  return false;
}

// Device scratch for one measurement, freed after it (cudaFree waits for the trials).
struct Scratch {
  void* ptr = nullptr;
  size_t bytes = 0;
  // Up to want bytes; halves on failure down to floor (a full GPU still measures, with less workspace).
  Scratch(size_t want, size_t floor) {
    for (bytes = want; bytes >= floor && bytes > 0; bytes /= 2) {
      if (cudaMalloc(&ptr, bytes) == cudaSuccess) return;
      cudaGetLastError();
      ptr = nullptr;
    }
    bytes = 0;
  }
  ~Scratch() {
    if (ptr) cudaFree(ptr);
  }
};

bool choose_by_measuring(ConvPlan& p, const ConvGeom& g, ConvPass pass, ConvData dt, int cls, size_t limit,
                         const void* a, const void* b) {
  CG_CHECK(a && b, "conv (cuDNN): measuring the ", kPassNames[int(pass)], " pass needs its two inputs");
  const size_t out_elems = pass == ConvPass::forward         ? size_t(g.N) * g.OC * g.OH() * g.OW()
                           : pass == ConvPass::backward_data ? size_t(g.N) * g.C * g.H * g.W
                                                             : size_t(g.OC) * g.C * g.K * g.K;
  Scratch out(out_elems * data_bytes(dt), out_elems * data_bytes(dt));
  CG_CHECK(out.ptr, "the GPU is out of memory measuring a convolution's algorithms (", out_elems * data_bytes(dt),
           " bytes of scratch)");
  Scratch ws(limit, size_t(1) << 20);
  cudaCheck(cudaStreamSynchronize(stream()));  // the inputs are ready before the trials read them
  int n = 0;
  bool ok = false;
  switch (pass) {
    case ConvPass::forward: {
      cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
      cudnnCheck(cudnnFindConvolutionForwardAlgorithmEx(cudnn(), p.x, a, p.w, b, p.conv, p.y, out.ptr,
                                                        CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf, ws.ptr, ws.bytes));
      ok = pick(p, pass, cls, perf, n, limit, false);
      break;
    }
    case ConvPass::backward_data: {
      cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
      cudnnCheck(cudnnFindConvolutionBackwardDataAlgorithmEx(cudnn(), p.w, a, p.y, b, p.conv, p.x, out.ptr,
                                                             CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf, ws.ptr,
                                                             ws.bytes));
      ok = pick(p, pass, cls, perf, n, limit, false);
      break;
    }
    case ConvPass::backward_filter: {
      cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
      cudnnCheck(cudnnFindConvolutionBackwardFilterAlgorithmEx(cudnn(), p.x, a, p.y, b, p.conv, p.w, out.ptr,
                                                               CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf,
                                                               ws.ptr, ws.bytes));
      ok = pick(p, pass, cls, perf, n, limit, false);
      break;
    }
  }
  p.measured = ok;
  return ok;
}

std::unique_ptr<ConvPlan> make_descriptors(const ConvGeom& g, ConvData dt, int cls) {
  auto p = std::make_unique<ConvPlan>();
  const cudnnDataType_t t = dt == ConvData::bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
  cudnnCheck(cudnnCreateTensorDescriptor(&p->x));
  cudnnCheck(cudnnCreateTensorDescriptor(&p->y));
  cudnnCheck(cudnnCreateFilterDescriptor(&p->w));
  cudnnCheck(cudnnCreateConvolutionDescriptor(&p->conv));
  cudnnCheck(cudnnSetTensor4dDescriptor(p->x, CUDNN_TENSOR_NCHW, t, g.N, g.C, g.H, g.W));
  cudnnCheck(cudnnSetTensor4dDescriptor(p->y, CUDNN_TENSOR_NCHW, t, g.N, g.OC, g.OH(), g.OW()));
  cudnnCheck(cudnnSetFilter4dDescriptor(p->w, t, CUDNN_TENSOR_NCHW, g.OC, g.C, g.K, g.K));
  // The compute type is FP32 for both data types (bf16 in, FP32 accumulation, bf16 out).
  cudnnCheck(cudnnSetConvolution2dDescriptor(p->conv, g.pad, g.pad, g.stride, g.stride, 1, 1,
                                             CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  p->math = desc_math(cls);
  cudnnCheck(cudnnSetConvolutionMathType(p->conv, p->math));
  int n = 0, c = 0, h = 0, w = 0;
  cudnnCheck(cudnnGetConvolution2dForwardOutputDim(p->conv, p->x, p->w, &n, &c, &h, &w));
  CG_CHECK(n == g.N && c == g.OC && h == g.OH() && w == g.OW(), "conv (cuDNN): output (", n, ",", c, ",", h, ",",
           w, ") differs from the expected (", g.N, ",", g.OC, ",", g.OH(), ",", g.OW(), ")");
  return p;
}

struct PlanCache {
  std::mutex mu;
  std::map<std::tuple<ConvGeom, int, int, int, bool>, std::unique_ptr<ConvPlan>> plans;
  AlgoCacheFile file;
  ConvPlanStats stats;
};
PlanCache& cache() {
  static PlanCache* c = new PlanCache();  // never destroyed: plans outlive static tensors at exit
  return *c;
}

std::unique_ptr<ConvPlan> make_plan(const ConvGeom& g, ConvPass pass, ConvData dt, const CudaMath& m, int cls,
                                    const void* a, const void* b, AlgoCacheFile& file, ConvPlanStats& stats) {
  auto p = make_descriptors(g, dt, cls);
  bool ok = false;
  const AlgoKey key{g, int(pass), int(dt), cls};
  if (!m.deterministic) {
    AlgoChoice saved;
    if (file.find(key, &saved) && adopt(*p, pass, cls, saved.algo, static_cast<cudnnMathType_t>(saved.math), m.workspace_limit)) {
      ok = p->measured = true;
      ++stats.from_cache_file;
    }
    if (!ok) {
      CG_USER_CHECK(!capturing(), "A convolution (", kPassNames[int(pass)], " of x (", g.N, ",", g.C, ",", g.H, ",",
                    g.W, ")) was first met while a CUDA graph was being captured; run the iteration once eagerly "
                    "first (covergan does) so every algorithm is measured before capture.");
      ok = choose_by_measuring(*p, g, pass, dt, cls, m.workspace_limit, a, b);
      if (ok) file.put(key, AlgoChoice{p->algo, int(p->math), p->workspace_bytes});
    }
    stats.measured += ok;
  }
  if (!ok) ok = choose_by_heuristic(*p, pass, cls, m.workspace_limit);
  CG_CHECK(ok, "conv (cuDNN): no usable ", kPassNames[int(pass)], " algorithm for x (", g.N, ",", g.C, ",", g.H, ",",
           g.W, ") w (", g.OC, ",", g.C, ",", g.K, ",", g.K, ") stride ", g.stride, " pad ", g.pad, " in ",
           dt == ConvData::bf16 ? "bf16" : "fp32", " under ", precision_name(m.precision), " within ",
           m.workspace_limit >> 20, " MiB of workspace");
  ++stats.plans;
  return p;
}

}  // namespace

ConvPlan::~ConvPlan() {
  if (conv) cudnnDestroyConvolutionDescriptor(conv);
  if (w) cudnnDestroyFilterDescriptor(w);
  for (cudnnTensorDescriptor_t d : {x, y})
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

const ConvPlan& conv_plan(const ConvGeom& g, ConvPass pass, ConvData dt, const void* a, const void* b) {
  const CudaMath m = cuda_math();
  const int cls = math_class(dt, m.precision);
  PlanCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.file.open(m.algo_cache);
  auto& slot = c.plans[{g, int(pass), int(dt), cls, m.deterministic}];
  if (!slot) slot = make_plan(g, pass, dt, m, cls, a, b, c.file, c.stats);
  return *slot;
}

void conv_run_forward(const ConvGeom& g, ConvData dt, const void* x, const void* w, void* y, float beta) {
  const ConvPlan& p = conv_plan(g, ConvPass::forward, dt, x, w);
  const float one = 1.f;
  void* ws = workspace(p.workspace_bytes);
  cudnnCheck(cudnnConvolutionForward(cudnn(), &one, p.x, x, p.w, w, p.conv, static_cast<cudnnConvolutionFwdAlgo_t>(p.algo),
                                     ws, p.workspace_bytes, &beta, p.y, y));
}

void conv_run_backward_data(const ConvGeom& g, ConvData dt, const void* w, const void* dy, void* dx, float beta) {
  const ConvPlan& p = conv_plan(g, ConvPass::backward_data, dt, w, dy);
  const float one = 1.f;
  void* ws = workspace(p.workspace_bytes);
  cudnnCheck(cudnnConvolutionBackwardData(cudnn(), &one, p.w, w, p.y, dy, p.conv,
                                          static_cast<cudnnConvolutionBwdDataAlgo_t>(p.algo), ws, p.workspace_bytes,
                                          &beta, p.x, dx));
}

void conv_run_backward_filter(const ConvGeom& g, ConvData dt, const void* x, const void* dy, void* dw, float beta) {
  const ConvPlan& p = conv_plan(g, ConvPass::backward_filter, dt, x, dy);
  const float one = 1.f;
  void* ws = workspace(p.workspace_bytes);
  cudnnCheck(cudnnConvolutionBackwardFilter(cudnn(), &one, p.x, x, p.y, dy, p.conv,
                                            static_cast<cudnnConvolutionBwdFilterAlgo_t>(p.algo), ws,
                                            p.workspace_bytes, &beta, p.w, dw));
}

void conv_run_weight_grad(const ConvGeom& g, ConvData dt, const void* x, const void* dy, float* dw) {
  if (dt == ConvData::f32) return conv_run_backward_filter(g, dt, x, dy, dw, 1.f);
  const int64_t n = int64_t(g.OC) * g.C * g.K * g.K;
  bf16* tmp = static_cast<bf16*>(grad_scratch(size_t(n) * sizeof(bf16)));
  conv_run_backward_filter(g, dt, x, dy, tmp, 0.f);
  cast(dw, tmp, n, /*accumulate=*/true);
}

ConvPlanStats conv_plan_stats() {
  std::lock_guard<std::mutex> lock(cache().mu);
  return cache().stats;
}

}  // namespace cg::cuda
