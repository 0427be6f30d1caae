// CUDA Philox fills (float and raw words) on the engine stream; the same stream
// layout and mappings as the CPU fills (kernels/common/philox.h).
#pragma once
#include <cstdint>

namespace cg::cuda {
// out[i] = word (offset + i) of the stream for seed  // (n)
void philox_bits(uint32_t* out, int64_t n, uint64_t seed, uint64_t offset);
// out[i] = fmaf(uniform24(word), scale, lo)  // (n)
void philox_uniform(float* out, int64_t n, uint64_t seed, uint64_t offset, float lo, float scale);
// out[i] = float(fma(box_muller(pair of word), std, mean))  // (n)
void philox_normal(float* out, int64_t n, uint64_t seed, uint64_t offset, double mean, double std);
}  // namespace cg::cuda
