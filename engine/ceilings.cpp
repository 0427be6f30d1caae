// Measuring a device's ceilings (see ceilings.h).
#include "engine/ceilings.h"

#include <cstdio>

#include "kernels/cpu/peaks.h"
#include "kernels/cuda/peaks.h"

namespace cg {

namespace {
std::string fixed(double v, int prec) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}
}  // namespace

DeviceCeilings measure_ceilings(Device d, bool quick) {
  DeviceCeilings c;
  c.device = d;
  if (d == Device::cuda) {
    if constexpr (kCudaBuilt) {
      const cuda::GpuPeaks p = cuda::measure_gpu_peaks();
      c.flops = p.sgemm_fp32;
      c.flops_tf32 = p.sgemm_tf32;
      c.bytes = p.copy_bytes;
      c.flops_what = "cuBLAS SGEMM " + std::to_string(p.n) + "^3, strict FP32";
      c.bytes_what = fixed(p.copy_mib, 0) + " MiB device-to-device copy, read + write";
    }
    return c;
  }
  const cpu::FmaPeak f = cpu::measure_fma_peak(quick ? 0.1 : 0.25);
  const cpu::MemBandwidth m = cpu::measure_mem_bandwidth(quick ? 64 : 128, quick ? 3 : 5);
  c.flops = f.flops;
  c.bytes = m.bytes;
  c.flops_what = "FMA peak, " + f.isa + ", " + std::to_string(f.threads) + " threads";
  c.bytes_what = "STREAM triad, 3 x " + fixed(m.array_mib, 0) + " MiB, " + std::to_string(m.threads) + " threads";
  return c;
}

std::string describe(const DeviceCeilings& c) {
  std::string s = fixed(c.flops / 1e9, 1) + " GFLOP/s (" + c.flops_what + ")";
  if (c.flops_tf32 > 0) s += ", TF32 " + fixed(c.flops_tf32 / 1e9, 1) + " GFLOP/s";
  return s + "; memory " + fixed(c.bytes / 1e9, 1) + " GB/s (" + c.bytes_what + ")";
}

Facts ceiling_facts(const DeviceCeilings& c) {
  Facts f{{"peak_gflops", fixed(c.flops / 1e9, 1)},
          {"peak_what", c.flops_what},
          {"mem_gbs", fixed(c.bytes / 1e9, 2)},
          {"mem_what", c.bytes_what}};
  if (c.flops_tf32 > 0) f.emplace_back("tf32_gflops", fixed(c.flops_tf32 / 1e9, 1));
  return f;
}

}  // namespace cg
