// How the CPU backend uses the cores, chosen by the program rather than by the user's
// environment: OpenMP owns the threads; OpenBLAS runs single-threaded inside them, and
// gemm() splits a large product over the OpenMP threads itself. So only one thread
// pool exists and no two pools spin against each other (OMP_WAIT_POLICY and
// OPENBLAS_NUM_THREADS no longer change the speed).
#pragma once
#include <string>

namespace cg::cpu {

// Called by gemm() before its first product; idempotent and thread-safe.
void configure_threads();
// OpenMP threads the CPU ops use (omp_get_max_threads: the cores, or OMP_NUM_THREADS).
int compute_threads();
// "2 OpenMP threads, OpenBLAS 1 thread inside each" (for benchmark and profile headers).
std::string thread_summary();

}  // namespace cg::cpu
