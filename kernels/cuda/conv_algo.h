// cuDNN plans for the convolutions: the descriptors of one convolution geometry in one
// data type, and the algorithm chosen for one pass: measured once (cudnnFind*AlgorithmEx)
// or, with CudaMath::deterministic, taken from cuDNN's heuristic order, deterministic
// algorithms first. Plans are cached for the process, keyed by geometry, pass, data
// type and math mode, and measured choices also in the file CudaMath::algo_cache names.
#pragma once
#include <cudnn.h>

#include <cstddef>
#include <cstdint>

namespace cg::cuda {

// One convolution in conv2d terms: x (N,C,H,W) * w (OC,C,K,K) -> y (N,OC,OH,OW), cross-correlation.
// A transposed convolution is described by the conv2d it is the adjoint of.
struct ConvGeom {
  int N = 0, C = 0, H = 0, W = 0, OC = 0, K = 0, stride = 1, pad = 0;
  int OH() const { return (H + 2 * pad - K) / stride + 1; }
  int OW() const { return (W + 2 * pad - K) / stride + 1; }
  auto operator<=>(const ConvGeom&) const = default;
};

// Checks that the sizes fit cuDNN's int descriptors (errors name op) and packs them.
ConvGeom conv_geom(const char* op, int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K,
                   int64_t stride, int64_t pad);

enum class ConvPass : int { forward, backward_data, backward_filter };
// The element type of x, w and y (the math accumulates in FP32 either way).
enum class ConvData : int { f32, bf16 };

struct ConvPlan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;  // math type set for algo
  int algo = 0;  // a cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t, by pass
  size_t workspace_bytes = 0;
  cudnnMathType_t math = CUDNN_FMA_MATH;
  bool measured = false;  // timed by cudnnFind*Ex (or read from the cache file), not a heuristic's guess
  ConvPlan() = default;
  ~ConvPlan();
  ConvPlan(const ConvPlan&) = delete;
  ConvPlan& operator=(const ConvPlan&) = delete;
};

// The cached plan for g, pass and data type under the current cuda_math() (base/precision.h).
// On first use in measuring mode the pass runs on trial buffers: a and b are its two
// inputs (forward: x, w; backward_data: w, dy; backward_filter: x, dy), read only; the
// outputs of the trials go to scratch. Fails with one sentence inside a CUDA graph capture
// (a plan must exist before: the eager warm-up iteration makes them).
const ConvPlan& conv_plan(const ConvGeom& g, ConvPass pass, ConvData dt, const void* a, const void* b);

// One pass through its cached plan, on stream(), with cuDNN's blend dst = result + beta * dst
// (beta 0: dst is not read, so a fresh buffer needs no zero fill; 1: accumulate):
//   forward:         y  (N,OC,OH,OW) from x (N,C,H,W) and w (OC,C,K,K)
//   backward_data:   dx (N,C,H,W)    from w and dy (N,OC,OH,OW)
//   backward_filter: dw (OC,C,K,K)   from x and dy
void conv_run_forward(const ConvGeom& g, ConvData dt, const void* x, const void* w, void* y, float beta);
void conv_run_backward_data(const ConvGeom& g, ConvData dt, const void* w, const void* dy, void* dx, float beta);
void conv_run_backward_filter(const ConvGeom& g, ConvData dt, const void* x, const void* dy, void* dw, float beta);
// dw (OC,C,K,K) f32 += the weight gradient: direct for f32 data; for bf16 the pass writes
// bf16 into scratch (kernels/cuda/scratch.h), widened and added here.
void conv_run_weight_grad(const ConvGeom& g, ConvData dt, const void* x, const void* dy, float* dw);

// Plans made so far and how many were measured (tests, `covergan devices`).
struct ConvPlanStats {
  int plans = 0, measured = 0, from_cache_file = 0;
};
ConvPlanStats conv_plan_stats();

}  // namespace cg::cuda
