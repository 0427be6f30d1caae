// CUDA draw of one iteration's generator input (kernels/common/latents.h): the stream
// offset is read from device memory and advanced by a one-thread kernel, so a captured
// graph draws new latents at every replay. Same contract as kernels/cpu/latents.h.
#pragma once
#include <cstdint>

namespace cg::cuda {
void draw_latents(float* z, int32_t* genres, float* codes, const uint64_t* offset, uint64_t seed, int64_t B, int64_t K,
                  int64_t C, int64_t Z);
void advance_offset(uint64_t* offset, uint64_t words);
}  // namespace cg::cuda
