// CPU transposed convolution (see conv_transpose2d.h): conv2d's data gradient run
// forward. The output (OC,OH,OW) plays the image and the input's (H,W) the grid. The
// batch runs in chunks with columns side by side: xcat = x packed (C, nb*HW) and
// col (OC*K*K, nb*HW), so
//   forward  out += col2im(W^T (OCKK,C) @ xcat) after the bias
//   dinp     x   += unpack(W (C,OCKK) @ im2col(dout))
//   dweight  W   += xcat @ im2col(dout)^T
// with wide GEMMs on BLAS's threads and OpenMP over the samples for the rest. In float,
// 4x4 stride-2 layers take the implicit GEMM of conv_k4s2_direct.h where it is enabled.
#include "kernels/cpu/conv_transpose2d.h"

#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "base/nvtx.h"
#include "base/profile.h"
#include "kernels/cpu/conv_k4s2_direct.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/im2col.h"
#include "kernels/cpu/scratch.h"

namespace cg::cpu {

template <class T>
void conv_transpose2d_forward(T* out, const T* inp, const T* weight, const T* bias, int64_t N, int64_t C,
                              int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad) {
  NVTX_RANGE_FN();
  const int64_t OH = (H - 1) * stride - 2 * pad + K, OW = (W - 1) * stride - 2 * pad + K;
  if constexpr (std::is_same_v<T, float>)
    if (conv_k4s2_direct_takes(OH, OW, K, stride, pad))
      return col2im_k4s2_direct(out, inp, weight, bias, N, C, H, W, OC, false);  // no column matrix
  const int64_t OCKK = OC * K * K, HW = H * W, chunk = batch_chunk(N, (OCKK + C) * HW);
  prof::add_work(2.0 * double(N * C * OCKK * HW), double(N * C * HW + C * OCKK + N * OC * OH * OW) * sizeof(T));
  T* col = scratch<T>(0, size_t(OCKK * chunk * HW));
  T* xcat = scratch<T>(1, size_t(C * chunk * HW));
  fill_bias(out, bias, N, OC, OH * OW);
  for (int64_t n0 = 0; n0 < N; n0 += chunk) {
    const int64_t nb = std::min(chunk, N - n0), ld = nb * HW;
    pack_batch(xcat, inp + n0 * C * HW, nb, C, HW);
    gemm<T>(true, false, OCKK, ld, C, T(1), weight, OCKK, xcat, ld, T(0), col, ld);
    col2im_add_batch(out + n0 * OC * OH * OW, col, nb, OC, OH, OW, K, stride, pad, H, W);
  }
}

template <class T>
void conv_transpose2d_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                               int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride,
                               int64_t pad, bool accumulate) {
  NVTX_RANGE_FN();
  const int64_t OH = (H - 1) * stride - 2 * pad + K, OW = (W - 1) * stride - 2 * pad + K;
  const int64_t OCKK = OC * K * K, HW = H * W, chunk = batch_chunk(N, (OCKK + C) * HW);
  if (dbias) bias_grad_add(dbias, dout, N, OC, OH * OW);
  if (!dinp && !dweight) return;
  if constexpr (std::is_same_v<T, float>)
    if (conv_k4s2_direct_takes(OH, OW, K, stride, pad)) {  // no column matrix
      // dinp is conv2d(dout, W as (C, OC*16)); dweight is x (C rows) @ col(dout)^T
      if (dinp) conv2d_forward_k4s2_direct(dinp, dout, weight, nullptr, N, OC, OH, OW, C, accumulate);
      if (dweight) weight_grad_k4s2_direct(dweight, inp, dout, N, C, OC, H, W);
      return;
    }
  if (dinp) prof::add_work(2.0 * double(N * C * OCKK * HW), double(N * OC * OH * OW + C * OCKK + N * C * HW) * sizeof(T));
  if (dweight) prof::add_work(2.0 * double(N * C * OCKK * HW), double(N * OC * OH * OW + N * C * HW + 2 * C * OCKK) * sizeof(T));
  // buf holds W @ col for dinp, then the packed input for dweight.
  T* col = scratch<T>(0, size_t(OCKK * chunk * HW));
  T* buf = scratch<T>(1, size_t(C * chunk * HW));
  for (int64_t n0 = 0; n0 < N; n0 += chunk) {
    const int64_t nb = std::min(chunk, N - n0), ld = nb * HW;
    im2col_batch(col, dout + n0 * OC * OH * OW, nb, OC, OH, OW, K, stride, pad, H, W);
    if (dinp) {
      gemm<T>(false, false, C, ld, OCKK, T(1), weight, OCKK, col, ld, T(0), buf, ld);
      unpack_batch_add(dinp + n0 * C * HW, buf, nb, C, HW, accumulate);
    }
    if (dweight) {
      pack_batch(buf, inp + n0 * C * HW, nb, C, HW);
      gemm<T>(false, true, C, OCKK, ld, T(1), buf, ld, col, ld, T(1), dweight, OCKK);
    }
  }
}

template void conv_transpose2d_forward<float>(float*, const float*, const float*, const float*, int64_t, int64_t,
                                              int64_t, int64_t, int64_t, int64_t, int64_t, int64_t);
template void conv_transpose2d_forward<double>(double*, const double*, const double*, const double*, int64_t,
                                               int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t);
template void conv_transpose2d_backward<float>(float*, float*, float*, const float*, const float*, const float*,
                                               int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                                               int64_t, bool);
template void conv_transpose2d_backward<double>(double*, double*, double*, const double*, const double*,
                                                const double*, int64_t, int64_t, int64_t, int64_t, int64_t,
                                                int64_t, int64_t, int64_t, bool);

}  // namespace cg::cpu
