// CPU loops for the shape ops, templated on float and double: strided row copies
// for concatenation along dim 1 and a scaled add for weighted sums. Same contract
// as kernels/cuda/shape_ops.h.
#pragma once
#include <cstdint>

namespace cg::cpu {

// Concatenation piece: row r of x (rows, width) goes to out[r*out_stride + offset ...].
template <class T>
void concat_copy_rows(T* out, int64_t out_stride, int64_t offset, const T* x, int64_t rows, int64_t width);
// Its backward: dx (rows, width) += dout[r*out_stride + offset ...].
template <class T>
void concat_add_rows(T* dx, const T* dout, int64_t out_stride, int64_t offset, int64_t rows, int64_t width);

// out (n) = w * x, or out += w * x when accumulate.
template <class T>
void scale_add(T* out, const T* x, T w, int64_t n, bool accumulate);

}  // namespace cg::cpu
