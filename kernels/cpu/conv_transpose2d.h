// CPU reference for the 2-D transposed convolution (PyTorch's ConvTranspose2d, the
// adjoint of conv2d), templated on float and double: GEMM + col2im per sample.
#pragma once
#include <cstdint>

namespace cg::cpu {

// out (N,OC,OH,OW) = conv_transpose(inp (N,C,H,W), weight (C,OC,K,K)) + bias (OC); bias may
// be null. OH = (H - 1)*stride - 2*pad + K, OW likewise.
template <class T>
void conv_transpose2d_forward(T* out, const T* inp, const T* weight, const T* bias, int64_t N, int64_t C,
                              int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad);

// Accumulates (+=) into whichever of dinp (N,C,H,W), dweight (C,OC,K,K), dbias (OC) is
// non-null, given dout (N,OC,OH,OW). With accumulate false dinp is assigned instead (a
// fresh buffer, not read); the weight and bias gradients are always added to.
template <class T>
void conv_transpose2d_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                               int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride,
                               int64_t pad, bool accumulate = true);

}  // namespace cg::cpu
