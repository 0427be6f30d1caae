// Dropout (Srivastava et al. 2014), "inverted" as PyTorch's: in training each element is
// zeroed with probability p and the survivors are scaled by 1/(1-p); in eval mode it is the
// identity. The worked example of README's "Adding an op": randomness, a train/eval mode.
#pragma once
#include "engine/philox.h"
#include "engine/tape.h"

namespace cg {

// x any shape, f32 or f64, CPU or CUDA. Training (and p > 0): the mask comes from the
// next x.numel() draws of rng (rng advances past them), so a fixed (seed, offset) gives
// the same mask on both devices and on every call; the record saves the mask (u8) for
// the backward. Eval, or p == 0: returns x itself and records nothing.
Tensor dropout(Tape* tape, const Tensor& x, double p, bool training, Philox& rng);

}  // namespace cg
