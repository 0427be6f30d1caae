// Scalar math of the losses, shared by the CPU loops and the CUDA kernels:
// per-element BCE on logits and squared error with their derivatives, and the
// per-row log-sum-exp of softmax cross-entropy. All finite for logits of +-100.
#pragma once
#include <stdint.h>

#include "kernels/common/activations.h"
#include "kernels/common/hd.h"

namespace cg::common {

// softplus(z) - t z = -[t log sigmoid(z) + (1-t) log(1 - sigmoid(z))], without exp overflow.
template <class T>
CG_HD T bce_with_logits_elem(T z, T t) {
  return softplus(z) - t * z;
}
// d/dz of bce_with_logits_elem.
template <class T>
CG_HD T bce_with_logits_grad(T z, T t) {
  return sigmoid_fwd(z) - t;
}

template <class T>
CG_HD T mse_elem(T p, T t) {
  const T d = p - t;
  return d * d;
}
template <class T>
CG_HD T mse_grad(T p, T t) {
  return T(2) * (p - t);
}

// log sum_k exp(z_k) over one row of K logits, shifted by the row max so no term overflows.
template <class T>
CG_HD T logsumexp_row(const T* z, int64_t K) {
  T m = z[0];
  for (int64_t k = 1; k < K; ++k) m = z[k] > m ? z[k] : m;
  T s = T(0);
  for (int64_t k = 0; k < K; ++k) s += cg_exp(z[k] - m);
  return m + cg_log(s);
}

// d CE / dz_k for one row: softmax_k - [k == label], from the row's log-sum-exp.
template <class T>
CG_HD T cross_entropy_grad(T z_k, T lse, bool is_label) {
  return cg_exp(z_k - lse) - (is_label ? T(1) : T(0));
}

}  // namespace cg::common
