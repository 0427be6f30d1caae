// 2-D convolution (cross-correlation, as PyTorch's Conv2d): the functional op and
// the Conv2d module owning weight (OC,C,K,K) and bias (OC).
#pragma once
#include <string>

#include "engine/params.h"
#include "engine/tape.h"

namespace cg {

// out (N,OC,OH,OW) with OH = (H + 2*pad - K)/stride + 1; b may be undefined.
// groups > 1: the batch is that many equal groups that stand for separate calls (D's real
// and generated images, whose batch norms keep apart): one forward and one input gradient
// over the whole batch, which run faster than two at half the batch (and may round
// differently: a kernel's path can depend on the batch), and the weight gradient one group
// at a time, last first, so it has the separate calls' bits.
Tensor conv2d(Tape* tape, const Tensor& x /*(N,C,H,W)*/, const Tensor& w /*(OC,C,K,K)*/, const Tensor& b,
              int stride, int pad, int groups = 1);

// leaky_relu(conv2d(x, w, b), slope) as one op (slope >= 0): the activation runs on each
// chunk of the convolution's output while it is in cache, and only that output is kept
// for the backward (it decides the activation's gradient as well as its input would). The
// same values and gradients as the two ops, bit for bit. D.conv1, which has no batch norm.
Tensor conv2d_leaky_relu(Tape* tape, const Tensor& x, const Tensor& w, const Tensor& b, int stride, int pad,
                         double slope, int groups = 1);

struct Conv2d {
  std::string name;  // "D.conv2": the profile's and Nsight's layer name
  Tensor weight, bias;
  int stride = 2, pad = 1;
  Conv2d() = default;
  Conv2d(ParamStore& ps, const std::string& name, int64_t in, int64_t out, int kernel = 4, int stride = 2,
         int pad = 1, bool with_bias = true);
  Tensor forward(Tape* tape, const Tensor& x, int groups = 1) const;  // conv2d inside the layer's scope
  Tensor forward_leaky(Tape* tape, const Tensor& x, double slope, int groups = 1) const;  // conv2d_leaky_relu
};

}  // namespace cg
