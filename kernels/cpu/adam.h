// CPU Adam over flat buffers (templated on float and double); the scalar update
// is kernels/common/adam.h.
#pragma once
#include <cstdint>

#include "kernels/common/adam.h"

namespace cg::cpu {
// param, m, v updated in place from grad  // all (n)
template <class T>
void adam_step(T* param, T* m, T* v, const T* grad, int64_t n, const common::AdamScalars<T>& s);
}  // namespace cg::cpu
