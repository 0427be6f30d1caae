// Reference dropout written as the plainest loop: one Philox block computed per element
// (no sharing between the four words of a block), for testing kernels/cpu/dropout.cpp and
// the CUDA kernel against. Same signatures as those.
#pragma once
#include <cstdint>

namespace cg::cpu::ref {

template <class T>
void dropout_forward(T* out, uint8_t* mask, const T* x, int64_t n, uint64_t seed, uint64_t offset,
                     uint32_t threshold, T scale);

template <class T>
void dropout_backward(T* dx, const T* dout, const uint8_t* mask, int64_t n, T scale);

}  // namespace cg::cpu::ref
