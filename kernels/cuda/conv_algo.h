// cuDNN plans for the convolutions: the descriptors of one convolution geometry and
// the algorithm cuDNN's heuristics chose for one pass, made once per shape and cached
// (keyed by geometry, pass and the TF32 setting) for the life of the process.
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

struct ConvPlan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnTensorDescriptor_t xbias = nullptr, ybias = nullptr;  // (1,C,1,1) and (1,OC,1,1)
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;  // math type set for algo
  int algo = 0;  // a cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t, by pass
  size_t workspace_bytes = 0;
  ConvPlan() = default;
  ~ConvPlan();
  ConvPlan(const ConvPlan&) = delete;
  ConvPlan& operator=(const ConvPlan&) = delete;
};

// The cached plan for g and pass under the current cuda::tf32_enabled() setting.
const ConvPlan& conv_plan(const ConvGeom& g, ConvPass pass);

}  // namespace cg::cuda
