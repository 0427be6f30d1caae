// Pointwise activations, each a tape op: ReLU, LeakyReLU, Tanh, Sigmoid.
// The scalar math is in kernels/common/activations.h, shared by CPU and CUDA.
#pragma once
#include "engine/tape.h"

namespace cg {
Tensor relu(Tape* tape, const Tensor& x);
Tensor leaky_relu(Tape* tape, const Tensor& x, double slope = 0.2);
Tensor tanh(Tape* tape, const Tensor& x);
Tensor sigmoid(Tape* tape, const Tensor& x);
}  // namespace cg
