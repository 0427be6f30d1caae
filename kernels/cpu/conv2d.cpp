// CPU 2-D convolution (see conv2d.h). The batch runs in chunks whose columns sit side by
// side: col = im2col(chunk) (C*K*K, nb*L), dcat = dout packed (OC, nb*L), L = OH*OW, and
//   forward  out  = bias + unpack(W (OC,CKK) @ col)
//   dinp     x   += col2im(W^T @ dcat)
//   dweight  W   += dcat @ col^T
// so each GEMM is wide (deep layers with 4x4 images too) and runs on BLAS's own threads,
// called from one thread; OpenMP spreads im2col/col2im and the packing over the samples.
// In float, the GAN's 4x4 stride-2 layers take the implicit GEMM of conv_k4s2_direct.h
// instead (all three products) where it is enabled: AVX-512 by default.
#include "kernels/cpu/conv2d.h"

#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "base/check.h"
#include "base/nvtx.h"
#include "base/profile.h"
#include "kernels/cpu/activations.h"
#include "kernels/cpu/conv_k4s2_direct.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/im2col.h"
#include "kernels/cpu/scratch.h"

namespace cg::cpu {

namespace {

// conv2d_forward's body, outside its NVTX range, so conv2d_leaky_forward's falls back on it
// without counting as a conv2d_forward call.
template <class T>
void forward_impl(T* out, const T* inp, const T* weight, const T* bias, int64_t N, int64_t C, int64_t H, int64_t W,
                  int64_t OC, int64_t K, int64_t stride, int64_t pad) {
  if constexpr (std::is_same_v<T, float>)
    if (conv_k4s2_direct_takes(H, W, K, stride, pad))
      return conv2d_forward_k4s2_direct(out, inp, weight, bias, N, C, H, W, OC);
  const int64_t OH = (H + 2 * pad - K) / stride + 1, OW = (W + 2 * pad - K) / stride + 1;
  const int64_t CKK = C * K * K, L = OH * OW, chunk = batch_chunk(N, (CKK + OC) * L);
  // bytes: what must at least move, x and w read, out written (so for every conv kernel)
  prof::add_work(2.0 * double(N * OC * CKK * L), double(N * C * H * W + OC * CKK + N * OC * L) * sizeof(T));
  T* col = scratch<T>(0, size_t(CKK * chunk * L));
  T* ycat = scratch<T>(1, size_t(OC * chunk * L));
  for (int64_t n0 = 0; n0 < N; n0 += chunk) {
    const int64_t nb = std::min(chunk, N - n0), ld = nb * L;
    im2col_batch(col, inp + n0 * C * H * W, nb, C, H, W, K, stride, pad, OH, OW);
    gemm<T>(false, false, OC, ld, CKK, T(1), weight, CKK, col, ld, T(0), ycat, ld);
    unpack_batch_bias(out + n0 * OC * L, ycat, bias, nb, OC, L);  // bias + W @ col, one pass
  }
}

}  // namespace

template <class T>
void conv2d_forward(T* out, const T* inp, const T* weight, const T* bias, int64_t N, int64_t C, int64_t H,
                    int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad) {
  NVTX_RANGE_FN();
  forward_impl(out, inp, weight, bias, N, C, H, W, OC, K, stride, pad);
}

template <class T>
void conv2d_leaky_forward(T* out, const T* inp, const T* weight, const T* bias, int64_t N, int64_t C, int64_t H,
                          int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad, T slope) {
  NVTX_RANGE_FN();
  CG_CHECK(slope >= 0, "conv2d_leaky_forward: slope ", slope, " must be >= 0");
  if constexpr (std::is_same_v<T, float>)
    if (conv_k4s2_direct_takes(H, W, K, stride, pad))
      return conv2d_forward_k4s2_direct(out, inp, weight, bias, N, C, H, W, OC, false, slope);
  forward_impl(out, inp, weight, bias, N, C, H, W, OC, K, stride, pad);
  const int64_t OH = (H + 2 * pad - K) / stride + 1, OW = (W + 2 * pad - K) / stride + 1;
  leaky_relu_pass(out, out, N * OC * OH * OW, slope);
}

template <class T>
void conv2d_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, int64_t N,
                     int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad,
                     bool accumulate) {
  NVTX_RANGE_FN();
  const int64_t OH = (H + 2 * pad - K) / stride + 1, OW = (W + 2 * pad - K) / stride + 1;
  const int64_t CKK = C * K * K, L = OH * OW, chunk = batch_chunk(N, (CKK + OC) * L);
  if (dbias) bias_grad_add(dbias, dout, N, OC, L);
  if constexpr (std::is_same_v<T, float>)
    if (conv_k4s2_direct_takes(H, W, K, stride, pad)) {  // no column matrix
      if (dinp) col2im_k4s2_direct(dinp, dout, weight, nullptr, N, OC, OH, OW, C, accumulate);
      if (dweight) weight_grad_k4s2_direct(dweight, dout, inp, N, OC, C, OH, OW);
      return;
    }
  if (!dinp && !dweight) return;
  if (dinp) prof::add_work(2.0 * double(N * OC * CKK * L), double(N * OC * L + OC * CKK + N * C * H * W) * sizeof(T));
  if (dweight) prof::add_work(2.0 * double(N * OC * CKK * L), double(N * OC * L + N * C * H * W + 2 * OC * CKK) * sizeof(T));
  T* col = scratch<T>(0, size_t(CKK * chunk * L));
  T* dcat = scratch<T>(1, size_t(OC * chunk * L));
  for (int64_t n0 = 0; n0 < N; n0 += chunk) {
    const int64_t nb = std::min(chunk, N - n0), ld = nb * L;
    pack_batch(dcat, dout + n0 * OC * L, nb, OC, L);
    if (dinp) {
      gemm<T>(true, false, CKK, ld, OC, T(1), weight, CKK, dcat, ld, T(0), col, ld);
      col2im_add_batch(dinp + n0 * C * H * W, col, nb, C, H, W, K, stride, pad, OH, OW, accumulate);
    }
    if (dweight) {
      im2col_batch(col, inp + n0 * C * H * W, nb, C, H, W, K, stride, pad, OH, OW);
      gemm<T>(false, true, OC, CKK, ld, T(1), dcat, ld, col, ld, T(1), dweight, CKK);
    }
  }
}

template <class T>
void conv2d_leaky_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* act, T slope, const T* inp,
                           const T* weight, int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K,
                           int64_t stride, int64_t pad, bool accumulate) {
  NVTX_RANGE_FN();
  const int64_t OH = (H + 2 * pad - K) / stride + 1, OW = (W + 2 * pad - K) / stride + 1, n = N * OC * OH * OW;
  if constexpr (std::is_same_v<T, float>)
    if (conv_k4s2_direct_takes(H, W, K, stride, pad)) {
      // The bias gradient from the weight gradient's own pass over dout and act where that
      // path can (the same bits), else its own pass.
      const bool bias_there = dbias && dweight && weight_grad_k4s2_t_sums_bias(N, OC, C, OH, OW);
      if (dbias && !bias_there) bias_grad_add_leaky(dbias, dout, act, slope, N, OC, OH * OW);
      if (dinp) col2im_k4s2_direct(dinp, dout, weight, nullptr, N, OC, OH, OW, C, accumulate, act, slope);
      if (dweight)
        weight_grad_k4s2_direct(dweight, dout, inp, N, OC, C, OH, OW, act, slope, bias_there ? dbias : nullptr);
      return;
    }
  if (dbias) bias_grad_add_leaky(dbias, dout, act, slope, N, OC, OH * OW);
  if (!dinp && !dweight) return;
  T* dz = scratch<T>(4, size_t(n));
  leaky_relu_grad_pass(dz, dout, act, n, slope);
  conv2d_backward(dinp, dweight, static_cast<T*>(nullptr), dz, inp, weight, N, C, H, W, OC, K, stride, pad,
                  accumulate);
}

template void conv2d_forward<float>(float*, const float*, const float*, const float*, int64_t, int64_t, int64_t,
                                    int64_t, int64_t, int64_t, int64_t, int64_t);
template void conv2d_forward<double>(double*, const double*, const double*, const double*, int64_t, int64_t,
                                     int64_t, int64_t, int64_t, int64_t, int64_t, int64_t);
template void conv2d_leaky_forward<float>(float*, const float*, const float*, const float*, int64_t, int64_t,
                                          int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, float);
template void conv2d_leaky_forward<double>(double*, const double*, const double*, const double*, int64_t, int64_t,
                                           int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, double);
template void conv2d_leaky_backward<float>(float*, float*, float*, const float*, const float*, float, const float*,
                                           const float*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                                           int64_t, bool);
template void conv2d_leaky_backward<double>(double*, double*, double*, const double*, const double*, double,
                                            const double*, const double*, int64_t, int64_t, int64_t, int64_t, int64_t,
                                            int64_t, int64_t, int64_t, bool);
template void conv2d_backward<float>(float*, float*, float*, const float*, const float*, const float*, int64_t,
                                     int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, bool);
template void conv2d_backward<double>(double*, double*, double*, const double*, const double*, const double*,
                                      int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, bool);

}  // namespace cg::cpu
