// Reference dropout (see dropout_ref.h).
#include "kernels/cpu/reference/dropout_ref.h"

#include "kernels/common/philox.h"

namespace cg::cpu::ref {

// Draw number p of the stream is word p % 4 of block p / 4 (kernels/common/philox.h).
template <class T>
void dropout_forward(T* out, uint8_t* mask, const T* x, int64_t n, uint64_t seed, uint64_t offset,
                     uint32_t threshold, T scale) {
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t p = offset + uint64_t(i);
    uint32_t w[4];
    common::philox_block(seed, p / 4, w);
    mask[i] = w[p % 4] >= threshold;
    out[i] = mask[i] ? x[i] * scale : T(0);
  }
}

template <class T>
void dropout_backward(T* dx, const T* dout, const uint8_t* mask, int64_t n, T scale) {
  for (int64_t i = 0; i < n; ++i)
    if (mask[i]) dx[i] += dout[i] * scale;
}

template void dropout_forward<float>(float*, uint8_t*, const float*, int64_t, uint64_t, uint64_t, uint32_t, float);
template void dropout_forward<double>(double*, uint8_t*, const double*, int64_t, uint64_t, uint64_t, uint32_t,
                                      double);
template void dropout_backward<float>(float*, const float*, const uint8_t*, int64_t, float);
template void dropout_backward<double>(double*, const double*, const uint8_t*, int64_t, double);

}  // namespace cg::cpu::ref
