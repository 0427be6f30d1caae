// How the CPU backend uses the cores, chosen by the program rather than by the user's
// environment. The kernels share their loops through their own pool (kernels/cpu/
// parallel.h), which hands out chunks one at a time and never waits for a paused thread;
// OpenMP remains for the evaluation and data loops. OpenBLAS runs single-threaded inside
// either, and gemm() splits a large product over the pool itself. Before libgomp starts,
// base/omp_env.c sizes the thread count to the CPUs the process may use (affinity, cgroup
// quota) and bounds how long an idle OpenMP thread spins; adapt_threads switches the pool
// to shared mode while other programs keep CPUs busy. Results do not depend on the thread
// count or the mode.
#pragma once
#include <string>

namespace cg::cpu {

// Called by gemm() before its first product (and by the benchmarks); idempotent and
// thread-safe: OpenBLAS to one thread, and the start-up variables base/omp_env.c set
// removed from the environment again (libgomp has read them).
void configure_threads();
// Threads the CPU ops use: the pool's helpers plus the caller, and OpenMP's count
// (omp_get_max_threads).
int compute_threads();
// Sets the OpenMP threads for what follows (tests and benchmarks; 0: back to the start-up
// count). Returns the previous count. Turns off adapt_threads for this process.
int set_compute_threads(int n);
// Called once per training iteration: at most every quarter second it measures how much
// CPU time other processes took from this machine (/proc/stat less this process's own,
// /proc/self/stat). While they use 0.3 CPUs or more, the pool runs in shared mode (finer
// chunks, the last ones left to the caller: parallel.h's set_pool_shared); it returns to
// coarse chunks after two quiet measurements. The threads stay: a thread that shares a CPU
// with a busy program still adds its part of that CPU, where fork-join regions waited for
// it at every barrier. Off when the user set OMP_NUM_THREADS or COVERGAN_ADAPT_THREADS=0.
// Results are the same bits in either mode.
void adapt_threads();
// CPUs other processes used, as measured by the last adapt_threads (-1: not yet).
double others_cpu_load();
// adapt_threads' rule for the pool's mode: shared at once when other programs use 0.3
// CPUs or more, alone again after two quiet measurements in a row.
struct SharedModeRule {
  bool shared = false;
  int quiet = 0;  // quiet measurements in a row while shared
  bool update(double others_cpus);  // the mode after this measurement
};
// How idle OpenMP threads wait: "spin 10000 then sleep (covergan's default)",
// "OMP_WAIT_POLICY=passive (from the environment)", ...
std::string wait_policy();
// "2 threads (2 CPUs usable), pool alone, OpenMP spin 10000 then sleep (covergan's
// default), OpenBLAS 1 thread inside each" (for benchmark and profile headers).
std::string thread_summary();

}  // namespace cg::cpu
