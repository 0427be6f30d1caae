// The blocks G and D share (see blocks.h).
#include "gan/blocks.h"

namespace cg::gan {

void init_normal(Philox& rng, const std::vector<Tensor>& ws, double std) {
  for (const Tensor& w : ws) {
    Tensor host = Tensor::empty(w.shape(), w.dtype(), Device::cpu);
    rng.normal(host, 0.0, std);
    Tensor dst = w;
    dst.copy_(host);
  }
}

Tensor apply_bn_act(Tape* tape, const BatchNorm2d& bn, const Tensor& x, BnMode mode, double slope, int groups) {
  if (mode == BnMode::batch) return bn.forward_act(tape, x, true, slope, /*running=*/false, groups);
  return bn.forward_act(tape, x, mode == BnMode::train, slope, true, groups);
}

}  // namespace cg::gan
