// CPU reference for the fully connected layer, templated on float and double.
#pragma once
#include <cstdint>

namespace cg::cpu {
// out (B,OC) = inp (B,C) @ weight (OC,C)^T + bias (OC); bias may be null.
template <class T>
void linear_forward(T* out, const T* inp, const T* weight, const T* bias, int64_t B, int64_t C, int64_t OC);

// Accumulates (+=) into whichever of dinp (B,C), dweight (OC,C), dbias (OC) is non-null.
template <class T>
void linear_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, int64_t B,
                     int64_t C, int64_t OC);
}  // namespace cg::cpu
