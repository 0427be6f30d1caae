// The machine's measured ceilings, the yardsticks every rate is shown against (the
// profile's "% of FMA peak", bench-compare, `covergan devices --peaks`): the FMA peak
// of the CPU (every compute thread running independent fused multiply-adds in
// registers) and its memory bandwidth (a STREAM triad over arrays far past the caches).
#pragma once
#include <string>

namespace cg::cpu {

struct FmaPeak {
  double flops = 0;  // FLOP/s over all compute threads (an FMA counts 2)
  int threads = 0;
  std::string isa;   // "AVX-512 FMA", "AVX2 FMA", "SSE2 (no FMA)": the widest this build issues
};
// Best of 5 runs of about seconds/5 each (a busy machine lowers it; the callers say so).
FmaPeak measure_fma_peak(double seconds = 0.25);

struct MemBandwidth {
  double bytes = 0;      // B/s: a[i] = b[i] + s*c[i] counted as 3 arrays moved (STREAM's rule)
  double array_mib = 0;  // each of the three arrays
  int threads = 0;
};
MemBandwidth measure_mem_bandwidth(double array_mib = 128, int passes = 5);

}  // namespace cg::cpu
