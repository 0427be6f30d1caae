// CUDA image normalisation (float); same contract as kernels/cpu/normalize.h.
#pragma once
#include <cstdint>

namespace cg::cuda {
// out (B,C,H,W) = in (B,H,W,C) / 127.5 - 1; flip is a device array (B) or null.
void images_u8_to_float(float* out, const uint8_t* in, const uint8_t* flip, int64_t B, int64_t H, int64_t W,
                        int64_t C);
// out (B,H,W,C) = clamp(round((in (B,C,H,W) + 1) * 127.5), 0, 255).
void images_float_to_u8(uint8_t* out, const float* in, int64_t B, int64_t C, int64_t H, int64_t W);
}  // namespace cg::cuda
