// Losses, each returning a one-element tensor (the mean over the batch), each a
// tape op; numerically stable for logits of +-100 (log-sum-exp, softplus forms).
#pragma once
#include "engine/tape.h"

namespace cg {
// mean_i [ softplus(z_i) - t_i * z_i ]: BCE on logits. logits (N) or (N,1); targets same
// numel, in [0,1]; targets take no gradient.
Tensor bce_with_logits(Tape* tape, const Tensor& logits, const Tensor& targets);
// mean_i [ logsumexp(z_i) - z_i[label_i] ]. logits (N,K); labels i32 (N) on the same device.
Tensor cross_entropy(Tape* tape, const Tensor& logits, const Tensor& labels);
// mean over all elements of (pred - target)^2; target takes no gradient.
Tensor mse(Tape* tape, const Tensor& pred, const Tensor& target);
// Fraction of rows whose argmax equals the label (no tape; a metric).
double accuracy(const Tensor& logits, const Tensor& labels);
}  // namespace cg
