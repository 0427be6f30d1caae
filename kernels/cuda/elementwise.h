// CUDA elementwise helpers used by Tensor (fill, y += a*x) on the engine stream.
#pragma once
#include <cstdint>

namespace cg::cuda {
void fill(float* out, int64_t n, float value);
void axpy(float* out, const float* inp, int64_t n, float alpha);  // out += alpha * inp
}  // namespace cg::cuda
