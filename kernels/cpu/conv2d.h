// CPU reference for the 2-D convolution (cross-correlation, PyTorch's Conv2d),
// templated on float and double: im2col + GEMM per sample, OpenMP over the batch.
#pragma once
#include <cstdint>

namespace cg::cpu {

// out (N,OC,OH,OW) = conv(inp (N,C,H,W), weight (OC,C,K,K)) + bias (OC); bias may be null.
// OH = (H + 2*pad - K)/stride + 1, OW likewise.
template <class T>
void conv2d_forward(T* out, const T* inp, const T* weight, const T* bias, int64_t N, int64_t C, int64_t H,
                    int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad);

// Accumulates (+=) into whichever of dinp (N,C,H,W), dweight (OC,C,K,K), dbias (OC) is
// non-null, given dout (N,OC,OH,OW). With accumulate false dinp is assigned instead (a
// fresh buffer, not read); the weight and bias gradients are always added to.
template <class T>
void conv2d_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, int64_t N,
                     int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad,
                     bool accumulate = true);

}  // namespace cg::cpu
