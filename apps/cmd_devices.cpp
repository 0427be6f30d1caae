// `covergan devices`: whether this build has the CUDA backend and a GPU answers, how the
// CPU threads are set up, and with --peaks each device's measured ceilings (the FMA peak
// and memory bandwidth every rate in the profile and the benchmarks is shown against).
#include <cstdio>

#include "apps/commands.h"
#include "base/provenance.h"
#include "engine/ceilings.h"
#include "engine/device.h"
#include "kernels/cpu/threads.h"

namespace covergan {
namespace {

bool g_peaks = false, g_json = false;

void add_options(CLI::App& app) {
  app.add_flag("--peaks", g_peaks,
               "Measure each device's ceilings: the CPU's FMA peak and memory bandwidth (about a second), on a GPU "
               "a 1 GiB device copy and an 8192^3 cuBLAS SGEMM (FP32 and TF32)");
  app.add_flag("--json", g_json, "With --peaks: print one JSON object (the ceilings and the provenance) instead");
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) o += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return o;
}

int run_devices() {
  const bool gpu = cg::cuda_available();
  if (!(g_peaks && g_json)) {
    std::printf("cpu: available, %s (%d CPUs online)\n", cg::cpu_model().c_str(), cg::cpus_online());
    std::printf("  threads: %s\n", cg::cpu::thread_summary().c_str());
    std::printf("cuda: %s\n", cg::kCudaBuilt ? (gpu ? "available" : "built in, but no GPU found")
                                             : "not built (no nvcc at configure time)");
  }
  if (!g_peaks) return 0;
  cg::Facts facts = cg::provenance();
  if (!g_json) std::fprintf(stderr, "measuring the CPU's ceilings...\n");
  const cg::DeviceCeilings c = cg::measure_ceilings(cg::Device::cpu);
  for (auto& [k, v] : cg::ceiling_facts(c)) facts.emplace_back("cpu_" + k, v);
  if (!g_json) std::printf("cpu peaks: %s\n", cg::describe(c).c_str());
  if (gpu) {
    const cg::DeviceCeilings g = cg::measure_ceilings(cg::Device::cuda);
    for (auto& [k, v] : cg::ceiling_facts(g)) facts.emplace_back("cuda_" + k, v);
    if (!g_json) std::printf("cuda peaks: %s\n", cg::describe(g).c_str());
  }
  if (g_json) {
    std::printf("{");
    for (size_t i = 0; i < facts.size(); ++i)
      std::printf("%s\n  \"%s\": \"%s\"", i ? "," : "", facts[i].first.c_str(), json_escape(facts[i].second).c_str());
    std::printf("\n}\n");
  } else {
    std::printf("measured on %s, load average %s%s\n", cg::utc_now().c_str(), cg::load_average().c_str(),
                cg::load_average_1min() > 0.5 * cg::cpus_usable() ? " (busy: the CPU numbers are low)" : "");
  }
  return 0;
}

Registrar reg({"devices", "Show the devices this build can use; --peaks measures their ceilings", add_options,
               run_devices});

}  // namespace
}  // namespace covergan
