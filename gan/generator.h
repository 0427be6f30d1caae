// The AC-GAN generator (docs/DESIGN.md section 1): Linear z -> (C0,4,4), BatchNorm,
// ReLU, then transposed convolutions (kernel 4, stride 2, padding 1) that halve
// the channels and double the size up to 3 x S x S, tanh at the end.
#pragma once
#include <vector>

#include "engine/philox.h"
#include "gan/blocks.h"
#include "gan/config.h"
#include "layers/batchnorm2d.h"
#include "layers/conv_transpose2d.h"
#include "layers/linear.h"

namespace cg::gan {

class Generator {
 public:
  // Declares the parameters (names "G.fc.weight", "G.bn0.weight", "G.deconv1.weight", ...)
  // and allocates them on device; call init() or load weights before use.
  Generator(const ModelConfig& cfg, Device device, DType dtype = DType::f32);
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  // z (B, z_dim) -> images (B,3,S,S) in (-1,1).
  Tensor forward(Tape* tape, const Tensor& z, BnMode mode) const;
  // Weights N(0, init_std), biases 0, BatchNorm gamma 1 / beta 0, running mean 0 / var 1.
  // With icnr, each transposed convolution then starts as nearest-neighbour upsampling
  // followed by a 3x3 convolution (tie_phases_icnr), from the same draws.
  void init(Philox& rng, bool icnr = false);
  // Projects every transposed convolution's weight onto the resize-convolutions
  // (project_resize_conv, the share `strength` of what lies outside): train --g-deconv
  // resize, after every update of G.
  void project_resize_conv(double strength = 1.0);

  // The batch norm layers' momentum (cfg.bn_momentum unless set): measure_standing_stats
  // sets it per pass to average batches evenly.
  double bn_momentum() const { return bn_.front().momentum; }
  void set_bn_momentum(double m) {
    for (auto& bn : bn_) bn.momentum = m;
  }

  ParamStore& params() { return ps_; }
  const ModelConfig& config() const { return cfg_; }

 private:
  ModelConfig cfg_;
  ParamStore ps_;
  Linear fc_;                             // no bias: BatchNorm follows
  std::vector<BatchNorm2d> bn_;           // bn0 .. bn(L-1)
  std::vector<ConvTranspose2d> deconv_;   // deconv1 .. deconvL; only the last has a bias
};

}  // namespace cg::gan
