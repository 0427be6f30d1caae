// Reference fully connected layer (PyTorch's Linear) written as direct loops, forward and
// backward, for reading and for testing the GEMM kernels in kernels/cpu/linear.cpp against.
// Same signatures as those; float and double.
#pragma once
#include <cstdint>

namespace cg::cpu::ref {

// out (B,OC) = inp (B,C) @ weight (OC,C)^T + bias (OC); bias may be null.
template <class T>
void linear_forward(T* out, const T* inp, const T* weight, const T* bias, int64_t B, int64_t C, int64_t OC);

// Accumulates (+=) into whichever of dinp (B,C), dweight (OC,C), dbias (OC) is non-null,
// given dout (B,OC).
template <class T>
void linear_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, int64_t B,
                     int64_t C, int64_t OC);

}  // namespace cg::cpu::ref
