// Reference linear layer (see linear_ref.h): each output and gradient element is one sum
// written as a loop, in double so the float version is a fair reference.
#include "kernels/cpu/reference/linear_ref.h"

namespace cg::cpu::ref {

// out[b,o] = bias[o] + sum_c inp[b,c] * weight[o,c]
template <class T>
void linear_forward(T* out, const T* inp, const T* weight, const T* bias, int64_t B, int64_t C, int64_t OC) {
  for (int64_t b = 0; b < B; ++b)
    for (int64_t o = 0; o < OC; ++o) {
      double s = bias ? double(bias[o]) : 0.0;
      for (int64_t c = 0; c < C; ++c) s += double(inp[b * C + c]) * double(weight[o * C + c]);
      out[b * OC + o] = T(s);
    }
}

template <class T>
void linear_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, int64_t B,
                     int64_t C, int64_t OC) {
  // dbias[o] += sum_b dout[b,o]
  if (dbias)
    for (int64_t o = 0; o < OC; ++o) {
      double s = 0;
      for (int64_t b = 0; b < B; ++b) s += dout[b * OC + o];
      dbias[o] += T(s);
    }
  // dweight[o,c] += sum_b dout[b,o] * inp[b,c]
  if (dweight)
    for (int64_t o = 0; o < OC; ++o)
      for (int64_t c = 0; c < C; ++c) {
        double s = 0;
        for (int64_t b = 0; b < B; ++b) s += double(dout[b * OC + o]) * double(inp[b * C + c]);
        dweight[o * C + c] += T(s);
      }
  // dinp[b,c] += sum_o dout[b,o] * weight[o,c]
  if (dinp)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t c = 0; c < C; ++c) {
        double s = 0;
        for (int64_t o = 0; o < OC; ++o) s += double(dout[b * OC + o]) * double(weight[o * C + c]);
        dinp[b * C + c] += T(s);
      }
}

template void linear_forward<float>(float*, const float*, const float*, const float*, int64_t, int64_t, int64_t);
template void linear_forward<double>(double*, const double*, const double*, const double*, int64_t, int64_t, int64_t);
template void linear_backward<float>(float*, float*, float*, const float*, const float*, const float*, int64_t,
                                     int64_t, int64_t);
template void linear_backward<double>(double*, double*, double*, const double*, const double*, const double*, int64_t,
                                      int64_t, int64_t);

}  // namespace cg::cpu::ref
