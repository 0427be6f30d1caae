// The GPU's measured ceilings (`covergan devices --peaks`, the profile on cuda): device
// memory bandwidth from a large device-to-device copy and the FLOP rate of a large
// cuBLAS SGEMM, strict FP32 and with TF32 tensor cores. Plain C++: a CPU-only build
// declares it and never calls it (engine code asks cuda_available() first).
#pragma once

namespace cg::cuda {

struct GpuPeaks {
  double copy_bytes = 0;  // B/s: a 1 GiB cudaMemcpy device to device, read + write counted
  double sgemm_fp32 = 0;  // FLOP/s: 8192^3 SGEMM, CUBLAS_DEFAULT_MATH (no tensor cores)
  double sgemm_tf32 = 0;  // FLOP/s: the same with CUBLAS_TF32_TENSOR_OP_MATH
  double copy_mib = 0;
  int n = 0;              // the GEMM's size
};
GpuPeaks measure_gpu_peaks();

}  // namespace cg::cuda
