// Reference conv2d (see conv2d_ref.h): every output and every gradient element is one
// sum written out as loops, in the order of its formula. Sums run in double so the float
// version is a fair reference; nothing here is fast.
#include "kernels/cpu/reference/conv2d_ref.h"

#include "kernels/cpu/reference/conv_ref_util.h"

namespace cg::cpu::ref {

namespace {

// dweight[o,c,kh,kw] += sum_{n,oh,ow} dout[n,o,oh,ow] * inp[n,c,oh*s-p+kh,ow*s-p+kw] (0 outside inp)
template <class T>
void weight_grad(T* dweight, const T* dout, const T* inp, int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC,
                 int64_t K, int64_t stride, int64_t pad, int64_t OH, int64_t OW) {
  for (int64_t o = 0; o < OC; ++o)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t kh = 0; kh < K; ++kh)
        for (int64_t kw = 0; kw < K; ++kw) {
          double s = 0;
          for (int64_t n = 0; n < N; ++n)
            for (int64_t oh = 0; oh < OH; ++oh)
              for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t ih = oh * stride - pad + kh, iw = ow * stride - pad + kw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                s += double(dout[((n * OC + o) * OH + oh) * OW + ow]) * double(inp[((n * C + c) * H + ih) * W + iw]);
              }
          dweight[((o * C + c) * K + kh) * K + kw] += T(s);
        }
}

// dinp[n,c,ih,iw] += sum_{o,kh,kw} dout[n,o,oh,ow] * weight[o,c,kh,kw] over the outputs
// (oh,ow) whose tap (kh,kw) read this pixel: oh*s-p+kh = ih, ow*s-p+kw = iw. This is
// conv_transpose2d(dout, weight).
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
                // the output (oh,ow) whose tap (kh,kw) read input (ih,iw), if any
                const int64_t oh = detail::strided_row(ih, kh, stride, pad);
                const int64_t ow = detail::strided_row(iw, kw, stride, pad);
                if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
                s += double(dout[((n * OC + o) * OH + oh) * OW + ow]) *
                     double(weight[((o * C + c) * K + kh) * K + kw]);
              }
          dinp[((n * C + c) * H + ih) * W + iw] += T(s);
        }
}

}  // namespace

// out[n,o,oh,ow] = bias[o] + sum_{c,kh,kw} inp[n,c,oh*s-p+kh,ow*s-p+kw] * weight[o,c,kh,kw],
// where taps that land in the zero padding contribute nothing.
template <class T>
void conv2d_forward(T* out, const T* inp, const T* weight, const T* bias, int64_t N, int64_t C, int64_t H, int64_t W,
                    int64_t OC, int64_t K, int64_t stride, int64_t pad) {
  const int64_t OH = (H + 2 * pad - K) / stride + 1, OW = (W + 2 * pad - K) / stride + 1;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < OC; ++o)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double s = bias ? double(bias[o]) : 0.0;
          for (int64_t c = 0; c < C; ++c)
            for (int64_t kh = 0; kh < K; ++kh)
              for (int64_t kw = 0; kw < K; ++kw) {
                const int64_t ih = oh * stride - pad + kh, iw = ow * stride - pad + kw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                s += double(inp[((n * C + c) * H + ih) * W + iw]) * double(weight[((o * C + c) * K + kh) * K + kw]);
              }
          out[((n * OC + o) * OH + oh) * OW + ow] = T(s);
        }
}

template <class T>
void conv2d_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, int64_t N,
                     int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K, int64_t stride, int64_t pad) {
  const int64_t OH = (H + 2 * pad - K) / stride + 1, OW = (W + 2 * pad - K) / stride + 1;
  if (dbias) detail::bias_grad(dbias, dout, N, OC, OH, OW);
  if (dweight) weight_grad(dweight, dout, inp, N, C, H, W, OC, K, stride, pad, OH, OW);
  if (dinp) input_grad(dinp, dout, weight, N, C, H, W, OC, K, stride, pad, OH, OW);
}

template void conv2d_forward<float>(float*, const float*, const float*, const float*, int64_t, int64_t, int64_t,
                                    int64_t, int64_t, int64_t, int64_t, int64_t);
template void conv2d_forward<double>(double*, const double*, const double*, const double*, int64_t, int64_t, int64_t,
                                     int64_t, int64_t, int64_t, int64_t, int64_t);
template void conv2d_backward<float>(float*, float*, float*, const float*, const float*, const float*, int64_t,
                                     int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t);
template void conv2d_backward<double>(double*, double*, double*, const double*, const double*, const double*, int64_t,
                                      int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t);

}  // namespace cg::cpu::ref
