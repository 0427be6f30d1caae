// Reference 2-D convolution (PyTorch's Conv2d, a cross-correlation) written as direct
// loops, forward and backward, for reading and for testing the fast im2col + GEMM
// kernels in kernels/cpu/conv2d.cpp against. Same signatures as those; float and double.
#pragma once
#include <cstdint>

namespace cg::cpu::ref {

// out (N,OC,OH,OW) = conv(inp (N,C,H,W), weight (OC,C,K,K)) + bias (OC); bias may be null.
// OH = (H + 2*pad - K)/stride + 1, OW likewise.
template <class T>
void conv2d_forward(T* out, const T* inp, const T* weight, const T* bias, int64_t N, int64_t C, int64_t H, int64_t W,
                    int64_t OC, int64_t K, int64_t stride, int64_t pad);

// Accumulates (+=) into whichever of dinp (N,C,H,W), dweight (OC,C,K,K), dbias (OC) is
// non-null, given dout (N,OC,OH,OW).
template <class T>
void conv2d_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, int64_t N,
                     int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad);

}  // namespace cg::cpu::ref
