// The generator's layers, forward pass and initialisation (see generator.h).
#include "gan/generator.h"

#include <string>

#include "base/nvtx.h"
#include "layers/activations.h"
#include "layers/layer_scope.h"
#include "layers/cast.h"
#include "layers/shape_ops.h"

namespace cg::gan {

Generator::Generator(const ModelConfig& cfg, Device device, DType dtype) : cfg_(cfg) {
  cfg_.validate();
  const int L = cfg_.n_layers();
  const int64_t c0 = cfg_.top_channels();
  fc_ = Linear(ps_, "G.fc", cfg_.z_dim, c0 * 16, /*with_bias=*/false);
  for (int i = 0; i < L; ++i) {
    const int64_t in = c0 >> i, out = i + 1 < L ? in / 2 : 3;
    if (i == 0) bn_.emplace_back(ps_, "G.bn0", c0);
    deconv_.emplace_back(ps_, "G.deconv" + std::to_string(i + 1), in, out, 4, 2, 1, /*with_bias=*/i + 1 == L);
    if (i + 1 < L) bn_.emplace_back(ps_, "G.bn" + std::to_string(i + 1), out);
  }
  for (auto& bn : bn_) bn.momentum = cfg_.bn_momentum, bn.eps = cfg_.bn_eps;
  ps_.finalize(device, dtype);
}

namespace {
// A stride-2 transposed convolution with a 4x4 kernel writes each output phase (even or
// odd row, even or odd column) through its own 2x2 of the 16 taps: rows {1, 3} for even
// output rows, {0, 2} for odd ones. Drawn independently, the four phases start with
// different gains, a checkerboard on every image (Odena et al. 2016). Tying tap k to tap
// kTie[k] (k3 = k0, k2 = k1, rows and columns) gives every phase the same 2x2 kernel,
// mirrored: the layer then computes nearest-neighbour upsampling followed by a 3x3
// convolution, the transposed-convolution form of Aitken et al.'s ICNR (2017). Each
// output still sums four independent N(0, std) draws per input channel, so its variance
// is the plain initialisation's.
template <class T>
void tie_taps(T* w, int64_t kernels) {  // kernels 4x4 kernels, one after the other
  static constexpr int kTie[4] = {0, 1, 1, 0};
  for (int64_t k = 0; k < kernels; ++k)
    for (int kh = 0; kh < 4; ++kh)
      for (int kw = 0; kw < 4; ++kw) w[k * 16 + kh * 4 + kw] = w[k * 16 + kTie[kh] * 4 + kTie[kw]];
}

void tie_phases_icnr(const Tensor& weight) {  // (C_in, C_out, 4, 4), f32 or f64 (train --dtype f64)
  Tensor host = Tensor::empty(weight.shape(), weight.dtype(), Device::cpu);
  host.copy_(weight);
  if (host.dtype() == DType::f64)
    tie_taps(host.data<double>(), host.numel() / 16);
  else
    tie_taps(host.data<float>(), host.numel() / 16);
  Tensor dst = weight;
  dst.copy_(host);
}
}  // namespace

void Generator::init(Philox& rng, bool icnr) {
  std::vector<Tensor> ws{fc_.weight};
  for (const auto& d : deconv_) ws.push_back(d.weight);
  init_normal(rng, ws, cfg_.init_std);
  if (icnr)
    for (const auto& d : deconv_) tie_phases_icnr(d.weight);
  for (const auto& d : deconv_)
    if (d.bias.defined()) Tensor(d.bias).zero_();
  for (const auto& bn : bn_) bn.reset();
}

void Generator::project_resize_conv(double strength) {
  for (auto& d : deconv_) cg::project_resize_conv(d.weight, strength);
}

Tensor Generator::forward(Tape* tape, const Tensor& z, BnMode mode) const {
  CG_CHECK(z.ndim() == 2 && z.dim(1) == cfg_.z_dim, "Generator: input ", z.shape().str(), " but z_dim is ",
           cfg_.z_dim);
  const int64_t B = z.dim(0), c0 = cfg_.top_channels();
  Tensor h = fc_.forward(tape, z);                   // (B, C0*16)
  h = reshape(tape, h, Shape{B, c0, 4, 4});          // (B,C0,4,4)
  h = apply_bn_act(tape, bn_[0], h, mode, 0.0);     // BN + ReLU, fused
  // The transposed convolutions in the activations' dtype: bf16 under bf16 mixed precision
  // on CUDA (the input layer, bn0 and the images stay f32), f32 otherwise (no op).
  h = to_dtype(tape, h, z.dtype() == DType::f32 ? activation_dtype(z.device()) : z.dtype());
  const size_t L = deconv_.size();
  for (size_t i = 0; i < L; ++i) {
    h = deconv_[i].forward(tape, h);                 // (B, C0/2^(i+1), 8*2^i, 8*2^i)
    if (i + 1 < L) {
      h = apply_bn_act(tape, bn_[i + 1], h, mode, 0.0);
    } else {
      NVTX_LAYER("G.tanh", "forward");
      const Tensor pre = h;
      h = cg::tanh(tape, h);
      note_io(pre, h);
    }
  }
  return to_dtype(tape, h, z.dtype());               // (B,3,S,S)
}

}  // namespace cg::gan
