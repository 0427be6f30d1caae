// CPU draw of one iteration's generator input (kernels/common/latents.h has the layout):
// z (B, K+C+Z), the genres (B) and the codes (B,C) from Philox stream seed at *offset,
// and the advance of that offset past the iteration's words. Same contract as
// kernels/cuda/latents.h (whose offset lives in device memory).
#pragma once
#include <cstdint>

namespace cg::cpu {
template <class T>
void draw_latents(T* z, int32_t* genres, T* codes, const uint64_t* offset, uint64_t seed, int64_t B, int64_t K,
                  int64_t C, int64_t Z);
// *offset += words
void advance_offset(uint64_t* offset, uint64_t words);
}  // namespace cg::cpu
