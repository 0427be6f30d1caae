// What the benchmark binaries share: their own flags (parsed before Google Benchmark's,
// listed by --help), the provenance and measured ceilings written into every JSON
// context, and a word on Debian's "Library was built as DEBUG" banner.
#pragma once
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/provenance.h"
#include "engine/ceilings.h"
#include "kernels/cpu/threads.h"

namespace cgbench {

// Removes "--name value" (or "--name=value") from argv; returns the value or def.
inline std::string take_flag(int& argc, char** argv, const char* name, const std::string& def) {
  const size_t n = std::strlen(name);
  for (int i = 1; i < argc; ++i) {
    std::string v;
    int used = 0;
    if (std::strcmp(argv[i], name) == 0 && i + 1 < argc) v = argv[i + 1], used = 2;
    else if (std::strncmp(argv[i], name, n) == 0 && argv[i][n] == '=') v = argv[i] + n + 1, used = 1;
    if (!used) continue;
    for (int j = i; j + used < argc; ++j) argv[j] = argv[j + used];
    argc -= used;
    return v;
  }
  return def;
}

// A whole positive number, or exit 2 with one sentence.
inline long positive(const char* prog, const char* flag, const std::string& v) {
  char* end = nullptr;
  const long x = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != 0 || x <= 0) {
    std::fprintf(stderr, "%s: %s needs a positive whole number, not '%s'.\n", prog, flag, v.c_str());
    std::exit(2);
  }
  return x;
}

// Prints usage (ours, then Google Benchmark's own) when asked; call before Initialize.
inline void help(int argc, char** argv, const char* usage) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::printf("%s\nGoogle Benchmark's own flags follow.\n\n", usage);
      std::fflush(stdout);
      return;
    }
}

// Debian builds libbenchmark without NDEBUG, so it prints "***WARNING*** Library was
// built as DEBUG. Timings may be affected." That concerns the library's bookkeeping
// around each timed region, not the code it times (covergan's Release build).
inline void explain_debug_banner() {
  std::fprintf(stderr,
               "note: Debian's Google Benchmark was compiled without NDEBUG, hence its \"Library was built as DEBUG\" "
               "warning; the code being timed is covergan's %s build, and its timings are unaffected.\n",
               cg::build_info().build_type);
}

// Provenance, thread set-up and the measured ceilings of each device, as JSON context.
inline void add_context(bool cuda) {
  for (const auto& [k, v] : cg::provenance()) benchmark::AddCustomContext(k, v);
  benchmark::AddCustomContext("cpu_threads", cg::cpu::thread_summary());
  const cg::DeviceCeilings c = cg::measure_ceilings(cg::Device::cpu, /*quick=*/true);
  for (const auto& [k, v] : cg::ceiling_facts(c)) benchmark::AddCustomContext("cpu_" + k, v);
  if (cuda) {
    const cg::DeviceCeilings g = cg::measure_ceilings(cg::Device::cuda);
    for (const auto& [k, v] : cg::ceiling_facts(g)) benchmark::AddCustomContext("cuda_" + k, v);
  }
}

}  // namespace cgbench
