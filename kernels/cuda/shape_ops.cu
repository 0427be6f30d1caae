// CUDA shape ops (see shape_ops.h): concatenation pieces as one strided 2-D copy
// each (cudaMemcpy2DAsync), their backward and the weighted sum as grid-stride kernels.
#include "base/nvtx.h"
#include "base/cuda_context.h"
#include "base/cuda_check.h"
#include "kernels/cuda/shape_ops.h"

namespace cg::cuda {

__global__ void concat_add_rows_kernel(float* dx, const float* dout, int64_t out_stride, int64_t offset,
                                       int64_t rows, int64_t width) {
  const int64_t n = rows * width;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t r = i / width, j = i % width;
    dx[i] += dout[r * out_stride + offset + j];
  }
}

__global__ void scale_add_kernel(float* out, const float* x, float w, int64_t n, bool accumulate) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = accumulate ? out[i] + w * x[i] : w * x[i];
}

void concat_copy_rows(float* out, int64_t out_stride, int64_t offset, const float* x, int64_t rows,
                      int64_t width) {
  NVTX_RANGE_FN();
  CG_CHECK(rows >= 0 && width >= 0 && offset >= 0 && offset + width <= out_stride,
           "concat_copy_rows: piece [", offset, ", +", width, ") does not fit rows of ", out_stride);
  if (rows == 0 || width == 0) return;
  cudaCheck(cudaMemcpy2DAsync(out + offset, sizeof(float) * (size_t)out_stride, x, sizeof(float) * (size_t)width,
                              sizeof(float) * (size_t)width, (size_t)rows, cudaMemcpyDeviceToDevice, stream()));
}

void concat_add_rows(float* dx, const float* dout, int64_t out_stride, int64_t offset, int64_t rows,
                     int64_t width) {
  NVTX_RANGE_FN();
  CG_CHECK(rows >= 0 && width >= 0 && offset >= 0 && offset + width <= out_stride,
           "concat_add_rows: piece [", offset, ", +", width, ") does not fit rows of ", out_stride);
  if (rows == 0 || width == 0) return;
  concat_add_rows_kernel<<<grid_for(rows * width), 256, 0, stream()>>>(dx, dout, out_stride, offset, rows, width);
  cudaCheck(cudaGetLastError());
}

void scale_add(float* out, const float* x, float w, int64_t n, bool accumulate) {
  NVTX_RANGE_FN();
  CG_CHECK(n >= 0, "scale_add: negative length ", n);
  if (n == 0) return;
  scale_add_kernel<<<grid_for(n), 256, 0, stream()>>>(out, x, w, n, accumulate);
  cudaCheck(cudaGetLastError());
}

}  // namespace cg::cuda
