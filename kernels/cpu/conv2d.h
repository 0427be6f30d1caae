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

// out = leaky_relu(conv2d_forward(...), slope), slope >= 0: the forward of the op
// conv2d_leaky_relu (D.conv1, which has no batch norm). The direct kernels activate each
// chunk's outputs while they are in cache; other paths run one pass after the convolution.
template <class T>
void conv2d_leaky_forward(T* out, const T* inp, const T* weight, const T* bias, int64_t N, int64_t C, int64_t H,
                          int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad, T slope);

// Accumulates (+=) into whichever of dinp (N,C,H,W), dweight (OC,C,K,K), dbias (OC) is
// non-null, given dout (N,OC,OH,OW). With accumulate false dinp is assigned instead (a
// fresh buffer, not read); the weight and bias gradients are always added to.
template <class T>
void conv2d_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, int64_t N,
                     int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad,
                     bool accumulate = true);

// conv2d_backward of dz = dout * (act > 0 ? 1 : slope), where act (N,OC,OH,OW) is the
// output of conv2d_leaky_forward: conv2d_leaky_relu's backward, the same bits as the
// activation's gradient computed first. The direct kernels apply it as they read dout
// where they can (the weight gradient with dout transposed, col2im by phase); elsewhere it
// is one pass into scratch.
template <class T>
void conv2d_leaky_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* act, T slope, const T* inp,
                           const T* weight, int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K,
                           int64_t stride, int64_t pad, bool accumulate = true);

}  // namespace cg::cpu
