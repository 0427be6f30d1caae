// The CPU thread policy (see threads.h).
#include "kernels/cpu/threads.h"

#include <cblas.h>
#include <omp.h>

#include <mutex>

namespace cg::cpu {

void configure_threads() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

int compute_threads() { return omp_get_max_threads(); }

std::string thread_summary() {
  configure_threads();
  return std::to_string(compute_threads()) + " OpenMP threads, OpenBLAS " +
         std::to_string(openblas_get_num_threads()) + " thread inside each";
}

}  // namespace cg::cpu
