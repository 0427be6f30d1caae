// CPU fully connected layer: three GEMMs and a column sum (see linear.h); in float, a
// layer of at most 8 outputs (D's heads) takes the loops of linear_narrow.cpp instead, and
// the forward and weight gradient of one with few inputs and many outputs (G's
// projection) those of linear_short.cpp.
#include "kernels/cpu/linear.h"

#include <type_traits>

#include "base/nvtx.h"
#include "base/profile.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/linear_narrow.h"
#include "kernels/cpu/linear_short.h"

namespace cg::cpu {

template <class T>
void linear_forward(T* out, const T* inp, const T* weight, const T* bias, int64_t B, int64_t C, int64_t OC) {
  NVTX_RANGE_FN();
  prof::add_work(2.0 * double(B * C * OC), double(B * C + OC * C + B * OC) * sizeof(T));
  if constexpr (std::is_same_v<T, float>) {
    if (OC <= kNarrowMaxOut) return linear_forward_narrow(out, inp, weight, bias, B, C, OC);
    if (linear_short_applies(C, OC)) return linear_forward_short(out, inp, weight, bias, B, C, OC);
  }
  for (int64_t b = 0; b < B; ++b)
    for (int64_t o = 0; o < OC; ++o) out[b * OC + o] = bias ? bias[o] : T(0);
  gemm<T>(false, true, B, OC, C, T(1), inp, C, weight, C, T(1), out, OC);
}

template <class T>
void linear_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, int64_t B,
                     int64_t C, int64_t OC) {
  NVTX_RANGE_FN();
  if (dinp) prof::add_work(2.0 * double(B * C * OC), double(B * OC + OC * C + 2 * B * C) * sizeof(T));
  if (dweight) prof::add_work(2.0 * double(B * C * OC), double(B * OC + B * C + 2 * OC * C) * sizeof(T));
  if constexpr (std::is_same_v<T, float>) {  // a gradient computed here is not left to the GEMMs below
    if (OC <= kNarrowMaxOut) {
      if (dinp) linear_backward_data_narrow(dinp, dout, weight, B, C, OC);
      if (dweight) linear_backward_weight_narrow(dweight, dout, inp, B, C, OC);
      dinp = dweight = nullptr;
    } else if (dweight && linear_short_applies(C, OC)) {
      linear_backward_weight_short(dweight, dout, inp, B, C, OC);
      dweight = nullptr;
    }
  }
  if (dinp) gemm<T>(false, false, B, C, OC, T(1), dout, OC, weight, C, T(1), dinp, C);       // dout @ W
  if (dweight) gemm<T>(true, false, OC, C, B, T(1), dout, OC, inp, C, T(1), dweight, C);     // dout^T @ x
  if (dbias)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t o = 0; o < OC; ++o) dbias[o] += dout[b * OC + o];
}

template void linear_forward<float>(float*, const float*, const float*, const float*, int64_t, int64_t, int64_t);
template void linear_forward<double>(double*, const double*, const double*, const double*, int64_t, int64_t,
                                     int64_t);
template void linear_backward<float>(float*, float*, float*, const float*, const float*, const float*, int64_t,
                                     int64_t, int64_t);
template void linear_backward<double>(double*, double*, double*, const double*, const double*, const double*,
                                      int64_t, int64_t, int64_t);

}  // namespace cg::cpu
