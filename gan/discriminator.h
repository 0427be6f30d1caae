// The AC-GAN discriminator (docs/DESIGN.md section 1): convolutions (kernel 4,
// stride 2, padding 1) from 3 x S x S down to (C0,4,4), LeakyReLU, BatchNorm on
// all but the first, then three Linear heads on the flattened features:
// real/fake logit (1), genre logits (K) and the latent codes (n_codes).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "engine/philox.h"
#include "gan/blocks.h"
#include "gan/config.h"
#include "layers/conv2d.h"
#include "layers/linear.h"

namespace cg::gan {

struct DOut {
  Tensor src;   // (B,1) real/fake logit
  Tensor cls;   // (B,K) genre logits
  Tensor code;  // (B,n_codes) predicted codes (undefined when n_codes == 0)
  Tensor feat;  // (B,C0*16) the heads' input: the last conv block flattened (eval's features)
};

class Discriminator {
 public:
  // Names: "D.conv1.weight", "D.conv1.bias", "D.conv2.weight", "D.bn2.weight", ...,
  // "D.fc_src.weight", "D.fc_cls.weight", "D.fc_code.weight" (+ biases).
  Discriminator(const ModelConfig& cfg, Device device, DType dtype = DType::f32);
  Discriminator(const Discriminator&) = delete;
  Discriminator& operator=(const Discriminator&) = delete;

  // x (B,3,S,S). mode train: batch statistics, running ones updated (every call,
  // so the real and the fake batch each normalise with their own statistics), and with
  // cfg.d_dropout > 0 dropout after every conv block, its masks drawn from *dropout
  // (required then; other modes use no dropout and no stream).
  DOut forward(Tape* tape, const Tensor& x, BnMode mode = BnMode::train, Philox* dropout = nullptr) const;
  // forward(real) then forward(fake) (each (B,3,S,S)), as one batch of 2B through the
  // convolutions, which run faster at twice the batch; each half keeps its own batch
  // statistics. Batch norm and the weight gradients give the two calls' bits; a
  // convolution's output and input gradient may take another kernel path at twice the
  // batch and round differently. Not with dropout (its masks would be drawn in another order).
  std::pair<DOut, DOut> forward_pair(Tape* tape, const Tensor& real, const Tensor& fake,
                                     BnMode mode = BnMode::train) const;
  // The same on both batches already joined (concat_batch(real, fake), (2B,3,S,S)).
  std::pair<DOut, DOut> forward_halves(Tape* tape, const Tensor& both, BnMode mode = BnMode::train) const;
  void init(Philox& rng);

  ParamStore& params() { return ps_; }
  const ModelConfig& config() const { return cfg_; }

 private:
  ModelConfig cfg_;
  ParamStore ps_;
  // The convolution blocks on x, flattened (B, C0*16), the batch in `groups` equal groups.
  Tensor trunk(Tape* tape, const Tensor& x, BnMode mode, Philox* dropout, int groups) const;
  DOut heads(Tape* tape, const Tensor& feat) const;

  std::vector<Conv2d> conv_;     // conv1 (bias, no BN) .. convL (no bias: BN follows)
  std::vector<BatchNorm2d> bn_;  // bn_[i] follows conv_[i]; bn_[0] unused
  std::vector<std::string> drop_names_;  // "D.dropout1" ..: scopes of the dropout after each block
  Linear fc_src_, fc_cls_, fc_code_;
};

}  // namespace cg::gan
