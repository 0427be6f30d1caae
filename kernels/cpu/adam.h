// CPU Adam over flat buffers (templated on float and double); the scalar update
// is kernels/common/adam.h.
#pragma once
#include <cstdint>

#include "kernels/common/adam.h"

namespace cg::cpu {
// param, m, v updated in place from grad  // all (n); with zero_grad, grad is set to 0 as
// it is read (ParamStore::grads_zeroed_by_step: no separate memset before the next backward)
template <class T>
void adam_step(T* param, T* m, T* v, T* grad, int64_t n, const common::AdamScalars<T>& s, bool zero_grad = false);
}  // namespace cg::cpu
