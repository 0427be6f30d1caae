// CPU dropout, forward and backward, templated on float and double; the scalar math is
// kernels/common/dropout.h. Same contract as kernels/cuda/dropout.h.
#pragma once
#include <cstdint>

namespace cg::cpu {

// mask (n) = 1 where Philox word (offset + i) of seed's stream >= threshold, else 0;
// out (n) = mask ? x * scale : 0.
template <class T>
void dropout_forward(T* out, uint8_t* mask, const T* x, int64_t n, uint64_t seed, uint64_t offset,
                     uint32_t threshold, T scale);

// dx (n) += mask ? dout * scale : 0; with accumulate false, dx = (a fresh buffer).
template <class T>
void dropout_backward(T* dx, const T* dout, const uint8_t* mask, int64_t n, T scale, bool accumulate = true);

}  // namespace cg::cpu
