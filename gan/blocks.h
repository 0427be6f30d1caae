// What the generator and the discriminator share: the batch-norm modes, the weight
// initialisation and the BatchNorm + activation block both stack.
#pragma once
#include <vector>

#include "engine/philox.h"
#include "layers/batchnorm2d.h"

namespace cg::gan {

// How BatchNorm normalises: train (batch statistics, running ones updated), batch
// (batch statistics, running ones untouched: sampling), eval (running statistics).
enum class BnMode { train, batch, eval };

// Fills every weight in ws with N(0, std) drawn on the host (so CPU and CUDA runs
// start from identical weights).
void init_normal(Philox& rng, const std::vector<Tensor>& ws, double std);
// Applies a BatchNorm layer in the given mode (BnMode::batch passes no running stats),
// then LeakyReLU(slope) fused into it (slope 0: ReLU, the generator's). groups: the batch's
// equal groups normalised apart (batch_norm2d_act).
Tensor apply_bn_act(Tape* tape, const BatchNorm2d& bn, const Tensor& x, BnMode mode, double slope, int groups = 1);

}  // namespace cg::gan
