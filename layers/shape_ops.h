// Ops that move or combine values without arithmetic of their own: reshape
// (flatten), concatenation along dim 1 and along the batch, a slice of the batch, and
// the weighted sum that joins loss terms.
#pragma once
#include <vector>

#include "engine/tape.h"

namespace cg {
// Same elements, new shape (numel must match). flatten(x) = reshape to (N, rest).
Tensor reshape(Tape* tape, const Tensor& x, Shape shape);
Tensor flatten(Tape* tape, const Tensor& x);
// Concatenates 2-D (N,Ci) or 4-D (N,Ci,H,W) tensors along dim 1.
Tensor concat(Tape* tape, const std::vector<Tensor>& xs);
// Concatenates tensors of one shape past dim 0 along the batch (dim 0), and its inverse:
// samples [start, start + count) of x, copied. D runs its real and generated images as one
// batch (concat_batch) and takes each half's features back for its heads (slice_batch).
Tensor concat_batch(Tape* tape, const std::vector<Tensor>& xs);
Tensor slice_batch(Tape* tape, const Tensor& x, int64_t start, int64_t count);
// sum_i w_i * x_i over same-shaped tensors (loss = BCE + CE + lambda * MSE).
Tensor weighted_sum(Tape* tape, const std::vector<Tensor>& xs, const std::vector<double>& weights);
}  // namespace cg
