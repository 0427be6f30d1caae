// CPU image normalisation (see normalize.h); the per-pixel math is kernels/common/normalize.h.
#include "kernels/cpu/normalize.h"

#include "base/nvtx.h"
#include "kernels/common/normalize.h"
#include "kernels/cpu/parallel.h"

namespace cg::cpu {

template <class T>
void images_u8_to_float(T* out, const uint8_t* in, const uint8_t* flip, int64_t B, int64_t H, int64_t W, int64_t C) {
  NVTX_RANGE_FN();
  parallel_each_if(B * C * H * W > 65536, B * C, [&](int64_t bc) {
    const int64_t b = bc / C, c = bc % C;
    const bool mirror = flip && flip[b];
    for (int64_t h = 0; h < H; ++h) {
      const uint8_t* row = in + ((b * H + h) * W) * C + c;
      T* o = out + ((b * C + c) * H + h) * W;
      for (int64_t w = 0; w < W; ++w) o[w] = common::pixel_to_unit<T>(row[(mirror ? W - 1 - w : w) * C]);
    }
  });
}

template <class T>
void images_float_to_u8(uint8_t* out, const T* in, int64_t B, int64_t C, int64_t H, int64_t W) {
  NVTX_RANGE_FN();
  parallel_each_if(B * C * H * W > 65536, B * H, [&](int64_t bh) {
    const int64_t b = bh / H, h = bh % H;
    for (int64_t w = 0; w < W; ++w)
      for (int64_t c = 0; c < C; ++c)
        out[((b * H + h) * W + w) * C + c] = common::unit_to_pixel(in[((b * C + c) * H + h) * W + w]);
  });
}

template void images_u8_to_float<float>(float*, const uint8_t*, const uint8_t*, int64_t, int64_t, int64_t, int64_t);
template void images_u8_to_float<double>(double*, const uint8_t*, const uint8_t*, int64_t, int64_t, int64_t, int64_t);
template void images_float_to_u8<float>(uint8_t*, const float*, int64_t, int64_t, int64_t, int64_t);
template void images_float_to_u8<double>(uint8_t*, const double*, int64_t, int64_t, int64_t, int64_t);

}  // namespace cg::cpu
