// The discriminator's layers, forward pass and initialisation (see discriminator.h).
#include "gan/discriminator.h"

#include <string>

#include "base/nvtx.h"
#include "layers/cast.h"
#include "layers/dropout.h"
#include "layers/layer_scope.h"
#include "layers/shape_ops.h"

namespace cg::gan {

Discriminator::Discriminator(const ModelConfig& cfg, Device device, DType dtype) : cfg_(cfg) {
  cfg_.validate();
  const int L = cfg_.n_layers();
  for (int i = 0; i < L; ++i) {
    const int64_t in = i == 0 ? 3 : int64_t(cfg_.base_channels) << (i - 1);
    const int64_t out = int64_t(cfg_.base_channels) << i;
    const std::string n = std::to_string(i + 1);
    conv_.emplace_back(ps_, "D.conv" + n, in, out, 4, 2, 1, /*with_bias=*/i == 0);
    bn_.push_back(i == 0 ? BatchNorm2d() : BatchNorm2d(ps_, "D.bn" + n, out));
    drop_names_.push_back("D.dropout" + n);  // its profile scope and NVTX range
  }
  for (auto& bn : bn_) bn.momentum = cfg_.bn_momentum, bn.eps = cfg_.bn_eps;
  const int64_t feat = cfg_.top_channels() * 16;
  fc_src_ = Linear(ps_, "D.fc_src", feat, 1);
  fc_cls_ = Linear(ps_, "D.fc_cls", feat, cfg_.num_genres);
  if (cfg_.n_codes > 0) fc_code_ = Linear(ps_, "D.fc_code", feat, cfg_.n_codes);
  ps_.finalize(device, dtype);
}

void Discriminator::init(Philox& rng) {
  std::vector<Tensor> ws;
  for (const auto& c : conv_) ws.push_back(c.weight);
  for (const Linear* l : {&fc_src_, &fc_cls_, &fc_code_})
    if (l->weight.defined()) ws.push_back(l->weight);
  init_normal(rng, ws, cfg_.init_std);
  for (const auto& c : conv_)
    if (c.bias.defined()) Tensor(c.bias).zero_();
  for (const Linear* l : {&fc_src_, &fc_cls_, &fc_code_})
    if (l->bias.defined()) Tensor(l->bias).zero_();
  for (size_t i = 1; i < bn_.size(); ++i) bn_[i].reset();
}

DOut Discriminator::forward(Tape* tape, const Tensor& x, BnMode mode, Philox* dropout) const {
  return heads(tape, trunk(tape, x, mode, dropout, 1));
}

std::pair<DOut, DOut> Discriminator::forward_pair(Tape* tape, const Tensor& real, const Tensor& fake,
                                                  BnMode mode) const {
  CG_CHECK(real.defined() && fake.defined() && real.shape() == fake.shape(), "Discriminator: real batch ",
           real.defined() ? real.shape().str() : "undefined", " and generated batch ",
           fake.defined() ? fake.shape().str() : "undefined", " differ");
  return forward_halves(tape, concat_batch(tape, {real, fake}), mode);
}

std::pair<DOut, DOut> Discriminator::forward_halves(Tape* tape, const Tensor& both, BnMode mode) const {
  CG_CHECK(mode != BnMode::train || cfg_.d_dropout == 0, "Discriminator: forward_pair with d_dropout ",
           cfg_.d_dropout, " (two forward calls draw the masks in their order)");
  CG_CHECK(both.ndim() == 4 && both.dim(0) % 2 == 0, "Discriminator: a paired batch ", both.shape().str(),
           " is not two equal halves");
  const int64_t B = both.dim(0) / 2;
  const Tensor f = trunk(tape, both, mode, nullptr, 2);
  return {heads(tape, slice_batch(tape, f, 0, B)), heads(tape, slice_batch(tape, f, B, B))};
}

Tensor Discriminator::trunk(Tape* tape, const Tensor& x, BnMode mode, Philox* dropout, int groups) const {
  const int64_t S = cfg_.image_size;
  CG_CHECK(x.ndim() == 4 && x.dim(1) == 3 && x.dim(2) == S && x.dim(3) == S, "Discriminator: input ",
           x.shape().str(), " but the model takes (B,3,", S, ",", S, ")");
  const bool drop = mode == BnMode::train && cfg_.d_dropout > 0;
  CG_CHECK(!drop || dropout, "Discriminator: d_dropout ", cfg_.d_dropout, " in training needs a Philox stream");
  // The convolutions in the activations' dtype (bf16 under bf16 mixed precision on CUDA);
  // the features go back to x's dtype before the heads, so logits and losses stay f32.
  Tensor h = to_dtype(tape, x, x.dtype() == DType::f32 ? activation_dtype(x.device()) : x.dtype());
  for (size_t i = 0; i < conv_.size(); ++i) {
    // (B, base*2^i, S/2^(i+1), S/2^(i+1)). conv1 has no BN: its LeakyReLU is fused into the
    // convolution (conv2d_leaky_relu); after the others BN + LeakyReLU are one op.
    if (i == 0) {
      h = conv_[i].forward_leaky(tape, h, cfg_.leaky_slope, groups);
    } else {
      h = conv_[i].forward(tape, h, groups);
      h = apply_bn_act(tape, bn_[i], h, mode, cfg_.leaky_slope, groups);
    }
    // After the activation, so the fused BN + LeakyReLU stays one op.
    if (drop) {
      NVTX_LAYER(drop_names_[i].c_str(), "forward");  // "D.dropout2 forward"
      const Tensor pre = h;
      // Dropout's kernels take f32 and f64: a bf16 activation is widened around it.
      const DType adt = h.dtype();
      h = cg::dropout(tape, adt == DType::bf16 ? to_dtype(tape, h, DType::f32) : h, cfg_.d_dropout, true, *dropout);
      h = to_dtype(tape, h, adt);
      note_io(pre, h);
    }
  }
  return flatten(tape, to_dtype(tape, h, x.dtype()));  // (B, C0*16)
}

DOut Discriminator::heads(Tape* tape, const Tensor& f) const {
  DOut out;
  out.feat = f;
  out.src = fc_src_.forward(tape, f);
  out.cls = fc_cls_.forward(tape, f);
  if (fc_code_.weight.defined()) out.code = fc_code_.forward(tape, f);
  return out;
}

}  // namespace cg::gan
