// The measured ceilings of a device, which every rate is shown against: on the CPU the
// FMA peak and the memory bandwidth (kernels/cpu/peaks.h), on a GPU the strict-FP32
// cuBLAS SGEMM rate and a large device copy (kernels/cuda/peaks.h).
#pragma once
#include <string>

#include "base/profile.h"
#include "base/provenance.h"
#include "engine/device.h"

namespace cg {

struct DeviceCeilings {
  Device device = Device::cpu;
  double flops = 0;        // FLOP/s: CPU FMA peak, or GPU FP32 SGEMM
  double bytes = 0;        // B/s: CPU STREAM triad, or GPU device-to-device copy
  double flops_tf32 = 0;   // GPU only: the SGEMM with TF32 tensor cores
  std::string flops_what;  // "FMA peak (AVX-512 FMA, 2 threads)", "cuBLAS SGEMM 8192^3, FP32"
  std::string bytes_what;  // "STREAM triad, 3 x 128 MiB, 2 threads", "1024 MiB device copy"
  prof::Ceilings prof() const { return {flops, bytes}; }
};

// Takes about a second on the CPU (quick: a third of that, for the profile's header).
DeviceCeilings measure_ceilings(Device d, bool quick = false);
// "FMA peak 463.1 GFLOP/s (AVX-512 FMA, 2 threads); memory 11.2 GB/s (STREAM triad, ...)"
std::string describe(const DeviceCeilings& c);
// The ceilings as provenance facts: peak_gflops, peak_what, mem_gbs, mem_what[, tf32_gflops].
Facts ceiling_facts(const DeviceCeilings& c);

}  // namespace cg
