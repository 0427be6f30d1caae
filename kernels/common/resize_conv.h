// The projection of a 4x4 stride-2 transposed-convolution kernel onto the kernels of a
// resize-convolution (nearest-neighbour upsampling, then a 3x3 convolution: Odena et al.
// 2016), shared by the CPU loop and the CUDA kernel.
#pragma once
#include "kernels/common/hd.h"

namespace cg::common {

// k (4, 4), taps kh*4 + kw, in place. Along one axis the even outputs read taps {1, 3}
// and the odd ones taps {0, 2}; a resize-convolution's taps satisfy w0 - w1 + w2 - w3 = 0
// (the two phases have the same gain, and nothing passes at the finest frequency: no
// checkerboard). k = (I - n n^T) k (I - n n^T) with n = (1, -1, 1, -1) / 2 takes away
// k's part that breaks this on either axis, and changes nothing in a kernel that keeps it;
// with strength s < 1, only the share s of that part.
template <class T>
CG_HD void project_resize_kernel(T* k, T strength) {
  const T n[4] = {T(0.5), T(-0.5), T(0.5), T(-0.5)};
  T r[4], c[4];  // k n per row, n^T k per column
  for (int i = 0; i < 4; ++i) {
    r[i] = n[0] * k[i * 4] + n[1] * k[i * 4 + 1] + n[2] * k[i * 4 + 2] + n[3] * k[i * 4 + 3];
    c[i] = n[0] * k[i] + n[1] * k[4 + i] + n[2] * k[8 + i] + n[3] * k[12 + i];
  }
  const T s = n[0] * r[0] + n[1] * r[1] + n[2] * r[2] + n[3] * r[3];  // n^T k n
  for (int kh = 0; kh < 4; ++kh)
    for (int kw = 0; kw < 4; ++kw) k[kh * 4 + kw] -= strength * (n[kh] * c[kw] + r[kh] * n[kw] - n[kh] * s * n[kw]);
}

}  // namespace cg::common
