// 2-D convolution (cross-correlation, as PyTorch's Conv2d): the functional op and
// the Conv2d module owning weight (OC,C,K,K) and bias (OC).
#pragma once
#include <string>

#include "engine/params.h"
#include "engine/tape.h"

namespace cg {

// out (N,OC,OH,OW) with OH = (H + 2*pad - K)/stride + 1; b may be undefined.
Tensor conv2d(Tape* tape, const Tensor& x /*(N,C,H,W)*/, const Tensor& w /*(OC,C,K,K)*/, const Tensor& b,
              int stride, int pad);

struct Conv2d {
  std::string name;  // "D.conv2": the profile's and Nsight's layer name
  Tensor weight, bias;
  int stride = 2, pad = 1;
  Conv2d() = default;
  Conv2d(ParamStore& ps, const std::string& name, int64_t in, int64_t out, int kernel = 4, int stride = 2,
         int pad = 1, bool with_bias = true);
  Tensor forward(Tape* tape, const Tensor& x) const;  // conv2d inside the layer's scope
};

}  // namespace cg
