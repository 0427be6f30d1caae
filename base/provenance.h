// Where a measurement came from: the build (commit and whether the tree had changes,
// compiler, flags; written by cmake/BuildInfo.cmake at every build) and the machine
// (CPU model, cores, the CPUs this process may use, load average, date). Benchmark JSON,
// the profile CSV and `covergan devices --peaks` print these beside their numbers.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace cg {

struct BuildInfo {
  const char* commit;  // full hash, or "unknown" outside a git checkout
  bool dirty;          // tracked files differed from the commit at build time
  const char* compiler;
  const char* flags;
  const char* build_type;
};
const BuildInfo& build_info();

// "model name" of /proc/cpuinfo ("unknown" elsewhere).
std::string cpu_model();
// CPUs online, and those this process may use (affinity, cgroup quota: base/omp_env.h).
int cpus_online();
int cpus_usable();
// The 1, 5 and 15 minute load averages ("2.10 1.05 0.80"), and the first as a number.
std::string load_average();
double load_average_1min();
// Now, UTC, ISO 8601 ("2026-12-03T14:05:09Z").
std::string utc_now();

// Every fact above as (key, value) pairs in print order: commit, dirty, compiler,
// flags, build_type, cpu_model, cpus_online, cpus_usable, load_average, date.
using Facts = std::vector<std::pair<std::string, std::string>>;
Facts provenance();

}  // namespace cg
