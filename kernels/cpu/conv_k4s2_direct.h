// Implicit-GEMM convolution for kernel 4, stride 2, padding 1 in float (the GAN's one
// convolution shape): no column matrix in memory. Each thread packs a small panel of
// columns straight from the image's phase planes into its cache and runs a register-
// blocked micro-kernel over it. Same sums as im2col + GEMM up to rounding order.
#pragma once
#include <cstdint>

namespace cg::cpu {

// True when conv2d_forward_k4s2_direct applies: k4s2p1 on an even image whose output
// planes are whole 16-lane vectors (OH*OW % 16 == 0: every layer of the 64x64 GAN).
bool conv_k4s2_direct_applies(int64_t H, int64_t W, int64_t K, int64_t stride, int64_t pad);

// Whether conv2d_forward takes the direct path when it applies: on by default where the
// compiler targets AVX-512 (elsewhere the 16-lane vectors are emulated and im2col + GEMM
// is faster); COVERGAN_CONV=gemm turns it off and COVERGAN_CONV=direct forces it (A/B).
bool conv_k4s2_direct_enabled();

// out (N,OC,OH,OW) = conv(inp (N,C,H,W), weight (OC,C,4,4), stride 2, pad 1) + bias (OC,
// may be null). Requires conv_k4s2_direct_applies(H, W, 4, 2, 1).
void conv2d_forward_k4s2_direct(float* out, const float* inp, const float* weight, const float* bias, int64_t N,
                                int64_t C, int64_t H, int64_t W, int64_t OC);

}  // namespace cg::cpu
