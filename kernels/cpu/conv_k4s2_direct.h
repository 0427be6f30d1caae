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
// Both: a float convolution of this shape takes the direct kernels (the one test every
// caller in conv2d.cpp and conv_transpose2d.cpp makes; H, W of the convolution's image).
bool conv_k4s2_direct_takes(int64_t H, int64_t W, int64_t K, int64_t stride, int64_t pad);
// Overrides that choice for this process and returns the previous one (tests run the
// float layers both ways).
bool set_conv_k4s2_direct_enabled(bool on);

// out (N,OC,OH,OW) = conv(inp (N,C,H,W), weight (OC,C,4,4), stride 2, pad 1) + bias (OC,
// may be null); with accumulate, out += that instead. Requires
// conv_k4s2_direct_applies(H, W, 4, 2, 1). Also conv_transpose2d's input gradient: the
// image is then dout and the weight (C_in, C_out*16) as stored. With leaky >= 0 (and
// accumulate false), out = leaky_relu(that, leaky) instead: conv2d_leaky_relu's forward,
// each chunk's outputs activated while still in cache.
void conv2d_forward_k4s2_direct(float* out, const float* inp, const float* weight, const float* bias, int64_t N,
                                int64_t C, int64_t H, int64_t W, int64_t OC, bool accumulate = false,
                                float leaky = -1.0f);

// The adjoint direction: img (N,CO,2*OH,2*OW) = col2im(A^T @ Y) + (accumulate ? img :
// bias (CO, may be null) or 0), with Y (N,M,OH*OW) and A (M, CO*16) as stored, the column
// rows computed a cache-sized panel at a time and scattered into phase planes. It is
// conv2d's input gradient (Y = dout, A = W (OC, C*16)) and conv_transpose2d's forward
// (Y = x, A = W (C_in, C_out*16)). Requires OH*OW % 16 == 0.
// With act (N,M,OH*OW), Y is first taken back through a LeakyReLU whose output act was:
// Y * (act > 0 ? 1 : slope), the same bits as that op's gradient (conv2d_leaky_relu's
// backward), applied as the grid is read where it is copied into a border anyway (col2im
// by phase), else in one pass into scratch slot 4.
void col2im_k4s2_direct(float* img, const float* Y, const float* A, const float* bias, int64_t N, int64_t M,
                        int64_t OH, int64_t OW, int64_t CO, bool accumulate, const float* act = nullptr,
                        float slope = 0.0f);

// The weight gradient: dweight (R, C*16) += Y (N,R,OH*OW) @ col(img)^T, img (N,C,2*OH,
// 2*OW): the column matrix built transposed, a cache-sized panel at a time, with each
// thread owning whole 4-channel column blocks of dweight. It is conv2d's (Y = dout, img =
// the input) and conv_transpose2d's (Y = x, img = dout). Requires OH*OW % 16 == 0.
// act, slope as col2im's: applied as Y is transposed where Y is (weight_grad_k4s2_t), else
// in one pass into scratch slot 4.
// dbias (R), where weight_grad_k4s2_t_sums_bias: += the bias gradient (Y through act,
// summed over pixels and samples), the bits of bias_grad_add(_leaky), from the pass that
// reads Y for the weights (the separate pass read Y and act again: 16 MiB at D.conv1).
void weight_grad_k4s2_direct(float* dweight, const float* Y, const float* img, int64_t N, int64_t R, int64_t C,
                             int64_t OH, int64_t OW, const float* act = nullptr, float slope = 0.0f,
                             float* dbias = nullptr);

// The weight gradient's path where the output rows are whole vectors, Y's channels come in
// 16s, each sample holds whole 256-pixel panels, dW is small and Y has fewer rows than the
// column matrix has columns (D.conv1, D.conv2, G.deconv3, G.deconv4 at 64x64 base 32): Y
// transposed instead of the column matrix (an eighth of the transposes at the inner
// layers), the image's bordered phase planes read in place.
// weight_grad_k4s2_direct takes it where weight_grad_k4s2_t_applies; COVERGAN_WGRAD=cols
// keeps every shape off it (A/B).
// Y * (act > 0 ? 1 : slope) in one pass, into scratch slot 4 of the calling thread (the
// kernels' fallback where they cannot apply act as they read Y).
const float* leaky_grad_copy(const float* Y, const float* act, float slope, int64_t n);

bool weight_grad_k4s2_t_applies(int64_t R, int64_t C, int64_t OH, int64_t OW);
// Whether the Y-transposed path applies with each unit holding whole samples, so that it can
// also sum the bias gradient.
bool weight_grad_k4s2_t_sums_bias(int64_t N, int64_t R, int64_t C, int64_t OH, int64_t OW);
void weight_grad_k4s2_t(float* dweight, const float* Y, const float* img, int64_t N, int64_t R, int64_t C,
                        int64_t OH, int64_t OW, const float* act = nullptr, float slope = 0.0f,
                        float* dbias = nullptr);

}  // namespace cg::cpu
