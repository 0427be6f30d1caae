// CPU shape ops (see shape_ops.h).
#include "kernels/cpu/shape_ops.h"

#include <cstring>

#include "base/nvtx.h"
#include "kernels/cpu/parallel.h"

namespace cg::cpu {

template <class T>
void concat_copy_rows(T* out, int64_t out_stride, int64_t offset, const T* x, int64_t rows, int64_t width) {
  NVTX_RANGE_FN();
  if (width == 0) return;
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(out + r * out_stride + offset, x + r * width, static_cast<size_t>(width) * sizeof(T));
}

template <class T>
void concat_add_rows(T* dx, const T* dout, int64_t out_stride, int64_t offset, int64_t rows, int64_t width) {
  NVTX_RANGE_FN();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < width; ++j) dx[r * width + j] += dout[r * out_stride + offset + j];
}

template <class T>
void scale_add(T* out, const T* x, T w, int64_t n, bool accumulate) {
  NVTX_RANGE_FN();
  if (accumulate) {
    parallel_each(n, 65536, [&](int64_t i) { out[i] += w * x[i]; });
  } else {
    parallel_each(n, 65536, [&](int64_t i) { out[i] = w * x[i]; });
  }
}

#define CG_SHAPE_INSTANTIATE(T)                                                                  \
  template void concat_copy_rows<T>(T*, int64_t, int64_t, const T*, int64_t, int64_t);           \
  template void concat_add_rows<T>(T*, const T*, int64_t, int64_t, int64_t, int64_t);            \
  template void scale_add<T>(T*, const T*, T, int64_t, bool);
CG_SHAPE_INSTANTIATE(float)
CG_SHAPE_INSTANTIATE(double)
#undef CG_SHAPE_INSTANTIATE

}  // namespace cg::cpu
