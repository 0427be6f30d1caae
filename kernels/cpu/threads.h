// How the CPU backend uses the cores, chosen by the program rather than by the user's
// environment: OpenMP owns the threads; OpenBLAS runs single-threaded inside them, and
// gemm() splits a large product over the OpenMP threads itself, so only one thread pool
// exists. Before libgomp starts, base/omp_env.c sizes that pool to the CPUs the process
// may use (affinity, cgroup quota) and bounds how long an idle thread spins before it
// sleeps; adapt_threads then runs on the CPUs other programs leave, so a busy machine
// (another program, a second training) does not make the threads wait on each other.
// Results do not depend on the thread count.
#pragma once
#include <string>

namespace cg::cpu {

// Called by gemm() before its first product (and by the benchmarks); idempotent and
// thread-safe: OpenBLAS to one thread, and the start-up variables base/omp_env.c set
// removed from the environment again (libgomp has read them).
void configure_threads();
// OpenMP threads the CPU ops use (omp_get_max_threads).
int compute_threads();
// Sets the OpenMP threads for what follows (tests and benchmarks; 0: back to the start-up
// count). Returns the previous count. Turns off adapt_threads for this process.
int set_compute_threads(int n);
// Called once per training iteration: at most every quarter second it measures how much
// CPU time other processes took from this machine (/proc/stat less this process's own,
// /proc/self/stat) and, when they keep some of the usable CPUs busy, runs on the rest
// (never fewer than 1): two threads fork-joined beside a busy program wait at every
// barrier for the one the OS has paused, and lose more than the CPU they share. Back to
// the start-up count when the others stop. Off when the user set OMP_NUM_THREADS or
// COVERGAN_ADAPT_THREADS=0. Results are the same bits on any count.
void adapt_threads();
// CPUs other processes used, as measured by the last adapt_threads (-1: not yet).
double others_cpu_load();
// adapt_threads' rule: the usable CPUs less those the others keep busy (a half CPU or
// more counts as one), at least 1.
int threads_beside(int usable, double others_cpus);
// How idle OpenMP threads wait: "spin 10000 then sleep (covergan's default)",
// "OMP_WAIT_POLICY=passive (from the environment)", ...
std::string wait_policy();
// "2 OpenMP threads (2 CPUs usable), spin 10000 then sleep (covergan's default), OpenBLAS
// 1 thread inside each" (for benchmark and profile headers).
std::string thread_summary();

}  // namespace cg::cpu
