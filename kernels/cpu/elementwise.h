// CPU elementwise helpers used by Tensor itself (fill, y += a*x). Header-only
// templates: they are tiny and instantiated for f32, f64, i32 and u8.
#pragma once
#include <cstdint>

#include "kernels/cpu/parallel.h"

namespace cg::cpu {

template <class T>
void fill(T* out, int64_t n, T value) {
  parallel_each(n, 65536, [&](int64_t i) { out[i] = value; });
}

// out += alpha * inp  // (n)
template <class T>
void axpy(T* out, const T* inp, int64_t n, T alpha) {
  parallel_each(n, 65536, [&](int64_t i) { out[i] += alpha * inp[i]; });
}

}  // namespace cg::cpu
