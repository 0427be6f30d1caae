// CPU exponential moving average over a flat buffer (templated on float and double);
// the scalar update is kernels/common/ema.h.
#pragma once
#include <cstdint>

namespace cg::cpu {
// avg (n) += one_minus_decay * (w (n) - avg)
template <class T>
void ema_update(T* avg, const T* w, int64_t n, T one_minus_decay);
}  // namespace cg::cpu
