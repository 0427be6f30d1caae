// The CPU thread policy (see threads.h).
#include "kernels/cpu/threads.h"

#include <cblas.h>
#include <omp.h>

#include <cstdlib>
#include <mutex>

#include "base/omp_env.h"
#include "base/provenance.h"

namespace cg::cpu {

namespace {
int g_start_threads = 0;  // omp_get_max_threads() before any set_compute_threads
}

void configure_threads() {
  static std::once_flag once;
  std::call_once(once, [] {
    openblas_set_num_threads(1);
    g_start_threads = omp_get_max_threads();
    covergan_omp_env_restore();
  });
}

int compute_threads() { return omp_get_max_threads(); }

int set_compute_threads(int n) {
  configure_threads();
  const int prev = omp_get_max_threads();
  omp_set_num_threads(n > 0 ? n : g_start_threads);
  return prev;
}

std::string wait_policy() {
  const int applied = covergan_omp_env_applied();
  if (applied & 1) return std::string("spin ") + covergan_omp_env_spincount() + " then sleep (covergan's default)";
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  const char* spin = std::getenv("GOMP_SPINCOUNT");
  std::string s;
  if (policy) s += std::string("OMP_WAIT_POLICY=") + policy;
  if (spin) s += std::string(s.empty() ? "" : ", ") + "GOMP_SPINCOUNT=" + spin;
  if (!s.empty()) return s + " (from the environment)";
  return applied & 4 ? "libgomp's default (COVERGAN_OMP_DEFAULTS=libgomp)" : "libgomp's default";
}

std::string thread_summary() {
  configure_threads();
  return std::to_string(compute_threads()) + " OpenMP threads (" + std::to_string(cpus_usable()) +
         " CPUs usable), " + wait_policy() + ", OpenBLAS " + std::to_string(openblas_get_num_threads()) +
         " thread inside each";
}

}  // namespace cg::cpu
