// CUDA shape ops; same contract as kernels/cpu/shape_ops.h (float).
#pragma once
#include <cstdint>

namespace cg::cuda {
void concat_copy_rows(float* out, int64_t out_stride, int64_t offset, const float* x, int64_t rows, int64_t width);
void concat_add_rows(float* dx, const float* dout, int64_t out_stride, int64_t offset, int64_t rows,
                     int64_t width);
void scale_add(float* out, const float* x, float w, int64_t n, bool accumulate);
}  // namespace cg::cuda
