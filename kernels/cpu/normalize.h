// CPU image normalisation (templated on float and double): uint8 HWC batches to
// float NCHW in [-1, 1] with an optional per-image horizontal flip, and back.
#pragma once
#include <cstdint>

namespace cg::cpu {
// out (B,C,H,W) = in (B,H,W,C) / 127.5 - 1; image b mirrored left-right when flip && flip[b].
template <class T>
void images_u8_to_float(T* out, const uint8_t* in, const uint8_t* flip, int64_t B, int64_t H, int64_t W, int64_t C);
// out (B,H,W,C) = clamp(round((in (B,C,H,W) + 1) * 127.5), 0, 255).
template <class T>
void images_float_to_u8(uint8_t* out, const T* in, int64_t B, int64_t C, int64_t H, int64_t W);
}  // namespace cg::cpu
