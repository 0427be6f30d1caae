// 2-D transposed convolution (the adjoint of conv2d, as PyTorch's ConvTranspose2d):
// the functional op and the module owning weight (C,OC,K,K) and bias (OC).
#pragma once
#include <string>

#include "engine/params.h"
#include "engine/tape.h"

namespace cg {

// out (N,OC,OH,OW) with OH = (H - 1)*stride - 2*pad + K; b may be undefined.
Tensor conv_transpose2d(Tape* tape, const Tensor& x /*(N,C,H,W)*/, const Tensor& w /*(C,OC,K,K)*/,
                        const Tensor& b, int stride, int pad);

// weight (C,OC,4,4) in place: each 4x4 kernel projected onto those of a resize-convolution
// (nearest-neighbour upsampling, then a 3x3 convolution; kernels/common/resize_conv.h),
// which cannot paint a checkerboard. A stride-2, pad-1 layer with such weights computes
// exactly that upsampling and convolution, borders included. With strength s in (0, 1),
// only the share s of each kernel's part outside them is removed (a soft pull).
void project_resize_conv(Tensor& weight, double strength = 1.0);

struct ConvTranspose2d {
  std::string name;  // "G.deconv1": the profile's and Nsight's layer name
  Tensor weight, bias;
  int stride = 2, pad = 1;
  ConvTranspose2d() = default;
  ConvTranspose2d(ParamStore& ps, const std::string& name, int64_t in, int64_t out, int kernel = 4,
                  int stride = 2, int pad = 1, bool with_bias = true);
  Tensor forward(Tape* tape, const Tensor& x) const;  // conv_transpose2d inside the layer's scope
};

}  // namespace cg
