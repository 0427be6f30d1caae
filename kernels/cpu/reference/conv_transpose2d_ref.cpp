// Reference conv_transpose2d (see conv_transpose2d_ref.h). The definition: input pixel
// (ih,iw) stamps its value times the kernel onto the output at (ih*s-p+kh, iw*s-p+kw).
// Each element below is one sum in double over the stamps that reach it; nothing is fast.
#include "kernels/cpu/reference/conv_transpose2d_ref.h"

#include "kernels/cpu/reference/conv_ref_util.h"

namespace cg::cpu::ref {

namespace {

// dweight[c,o,kh,kw] += sum_{n,ih,iw} inp[n,c,ih,iw] * dout[n,o,ih*s-p+kh,iw*s-p+kw] (stamps
// that fell outside the output were dropped, so they get no gradient)
template <class T>
void weight_grad(T* dweight, const T* dout, const T* inp, int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC,
                 int64_t K, int64_t stride, int64_t pad, int64_t OH, int64_t OW) {
  for (int64_t c = 0; c < C; ++c)
    for (int64_t o = 0; o < OC; ++o)
      for (int64_t kh = 0; kh < K; ++kh)
        for (int64_t kw = 0; kw < K; ++kw) {
          double s = 0;
          for (int64_t n = 0; n < N; ++n)
            for (int64_t ih = 0; ih < H; ++ih)
              for (int64_t iw = 0; iw < W; ++iw) {
                const int64_t oh = ih * stride - pad + kh, ow = iw * stride - pad + kw;
                if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
                s += double(inp[((n * C + c) * H + ih) * W + iw]) * double(dout[((n * OC + o) * OH + oh) * OW + ow]);
              }
          dweight[((c * OC + o) * K + kh) * K + kw] += T(s);
        }
}

// dinp[n,c,ih,iw] += sum_{o,kh,kw} dout[n,o,ih*s-p+kh,iw*s-p+kw] * weight[c,o,kh,kw]: the
// gradient gathers back what the pixel stamped. This is conv2d(dout, weight).
template <class T>
void input_grad(T* dinp, const T* dout, const T* weight, int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC,
                int64_t K, int64_t stride, int64_t pad, int64_t OH, int64_t OW) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t ih = 0; ih < H; ++ih)
        for (int64_t iw = 0; iw < W; ++iw) {
          double s = 0;
          for (int64_t o = 0; o < OC; ++o)
            for (int64_t kh = 0; kh < K; ++kh)
              for (int64_t kw = 0; kw < K; ++kw) {
                const int64_t oh = ih * stride - pad + kh, ow = iw * stride - pad + kw;
                if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
                s += double(dout[((n * OC + o) * OH + oh) * OW + ow]) *
                     double(weight[((c * OC + o) * K + kh) * K + kw]);
              }
          dinp[((n * C + c) * H + ih) * W + iw] += T(s);
        }
}

}  // namespace

// out[n,o,oh,ow] = bias[o] + sum_{c,kh,kw} inp[n,c,ih,iw] * weight[c,o,kh,kw] over the taps
// with ih*s-p+kh = oh and iw*s-p+kw = ow for an (ih,iw) inside the input.
template <class T>
void conv_transpose2d_forward(T* out, const T* inp, const T* weight, const T* bias, int64_t N, int64_t C, int64_t H,
                              int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad) {
  const int64_t OH = (H - 1) * stride - 2 * pad + K, OW = (W - 1) * stride - 2 * pad + K;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < OC; ++o)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double s = bias ? double(bias[o]) : 0.0;
          for (int64_t c = 0; c < C; ++c)
            for (int64_t kh = 0; kh < K; ++kh)
              for (int64_t kw = 0; kw < K; ++kw) {
                // the input (ih,iw) whose stamp put tap (kh,kw) on output (oh,ow), if any
                const int64_t ih = detail::strided_row(oh, kh, stride, pad);
                const int64_t iw = detail::strided_row(ow, kw, stride, pad);
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                s += double(inp[((n * C + c) * H + ih) * W + iw]) * double(weight[((c * OC + o) * K + kh) * K + kw]);
              }
          out[((n * OC + o) * OH + oh) * OW + ow] = T(s);
        }
}

template <class T>
void conv_transpose2d_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, int64_t N,
                               int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad) {
  const int64_t OH = (H - 1) * stride - 2 * pad + K, OW = (W - 1) * stride - 2 * pad + K;
  if (dbias) detail::bias_grad(dbias, dout, N, OC, OH, OW);
  if (dweight) weight_grad(dweight, dout, inp, N, C, H, W, OC, K, stride, pad, OH, OW);
  if (dinp) input_grad(dinp, dout, weight, N, C, H, W, OC, K, stride, pad, OH, OW);
}

template void conv_transpose2d_forward<float>(float*, const float*, const float*, const float*, int64_t, int64_t,
                                              int64_t, int64_t, int64_t, int64_t, int64_t, int64_t);
template void conv_transpose2d_forward<double>(double*, const double*, const double*, const double*, int64_t, int64_t,
                                               int64_t, int64_t, int64_t, int64_t, int64_t, int64_t);
template void conv_transpose2d_backward<float>(float*, float*, float*, const float*, const float*, const float*,
                                               int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                                               int64_t);
template void conv_transpose2d_backward<double>(double*, double*, double*, const double*, const double*,
                                                const double*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                                                int64_t, int64_t);

}  // namespace cg::cpu::ref
