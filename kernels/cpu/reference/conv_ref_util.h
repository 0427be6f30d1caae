// What the two reference convolutions (conv2d_ref.cpp, conv_transpose2d_ref.cpp) share: the
// strided-tap row arithmetic and the bias gradient, written once.
#pragma once
#include <cstdint>

namespace cg::cpu::ref::detail {

// The row r whose tap k lands on row t, r*stride - pad + k = t, when that divides exactly;
// -1 if not. conv2d's input gradient asks which output row read input row t; the
// transposed convolution which input row stamped output row t.
inline int64_t strided_row(int64_t t, int64_t k, int64_t stride, int64_t pad) {
  const int64_t d = t + pad - k;
  return d % stride == 0 ? d / stride : -1;  // d < 0 gives a negative row either way
}

// dbias[o] += sum_{n,oh,ow} dout[n,o,oh,ow]
template <class T>
void bias_grad(T* dbias, const T* dout, int64_t N, int64_t OC, int64_t OH, int64_t OW) {
  for (int64_t o = 0; o < OC; ++o) {
    double s = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) s += dout[((n * OC + o) * OH + oh) * OW + ow];
    dbias[o] += T(s);
  }
}

}  // namespace cg::cpu::ref::detail
