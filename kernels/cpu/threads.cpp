// The CPU thread policy (see threads.h).
#include "kernels/cpu/threads.h"

#include <cblas.h>
#include <omp.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>

#include "base/omp_env.h"
#include "base/provenance.h"
#include "kernels/cpu/parallel.h"

namespace cg::cpu {

namespace {

int g_start_threads = 0;  // omp_get_max_threads() before any set_compute_threads
bool g_pinned = false;    // set_compute_threads was called: the caller decides
double g_others = -1;     // CPUs the other processes used, smoothed
// Other programs' CPU use from which the pool shares (a busy loop beside two threads on two
// CPUs gets 0.5-0.9 of one; a desktop's background work stays under 0.2).
constexpr double kSharedFrom = 0.3;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Busy ticks of all CPUs (user, nice, system, irq, softirq, steal) from /proc/stat; or,
// with COVERGAN_LOAD_CGROUP=DIR (a cgroup v1 cpuacct folder), the CPU time of that group
// alone: measuring contention on a machine that other, unrelated work already keeps busy.
bool machine_busy_ticks(double* busy) {
  if (const char* dir = std::getenv("COVERGAN_LOAD_CGROUP")) {
    std::ifstream g(std::string(dir) + "/cpuacct.usage");
    double ns = 0;
    if (!(g >> ns)) return false;
    *busy = ns * 1e-9 * double(sysconf(_SC_CLK_TCK));
    return true;
  }
  std::ifstream f("/proc/stat");
  std::string cpu;
  double v[8] = {0};
  if (!(f >> cpu) || cpu != "cpu") return false;
  for (double& x : v)
    if (!(f >> x)) return false;
  *busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];  // not idle (3) or iowait (4)
  return true;
}

// This process's user + system ticks, every thread's, from /proc/self/stat.
bool own_ticks(double* ticks) {
  std::ifstream f("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return false;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::atof(field.c_str());
    if (i == 15) stime = std::atof(field.c_str());
  }
  *ticks = utime + stime;
  return true;
}

bool adapt_enabled() {
  static const bool on = [] {
    const char* a = std::getenv("COVERGAN_ADAPT_THREADS");
    if (a && std::string(a) == "0") return false;
    return std::getenv("OMP_NUM_THREADS") == nullptr || (covergan_omp_env_applied() & 2);
  }();
  return on && !g_pinned;
}

}  // namespace

void adapt_threads() {
  static double t_last = 0, busy_last = 0, own_last = 0;
  static SharedModeRule rule;
  configure_threads();
  if (!adapt_enabled() || g_start_threads <= 1) return;
  const double t = now_s();
  if (t_last > 0 && t - t_last < 0.25) return;
  double busy = 0, own = 0;
  if (!machine_busy_ticks(&busy) || !own_ticks(&own)) return;
  if (t_last > 0) {
    const double ticks = double(sysconf(_SC_CLK_TCK)) * (t - t_last);
    g_others = std::max(0.0, ((busy - busy_last) - (own - own_last)) / ticks);
    // The threads stay: with chunks handed out one at a time, a thread beside a busy
    // program still adds its share of that CPU; only the chunks change (parallel.h).
    rule.shared = pool_shared();  // tests and COVERGAN_POOL_MODE may have set it
    set_pool_shared(rule.update(g_others));
  }
  t_last = t, busy_last = busy, own_last = own;
}

double others_cpu_load() { return g_others; }

bool SharedModeRule::update(double others) {
  if (others >= kSharedFrom) shared = true, quiet = 0;
  else if (shared && ++quiet >= 2) shared = false, quiet = 0;
  return shared;
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
  g_pinned = n > 0;
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
  std::string s = std::to_string(compute_threads()) + " threads (" + std::to_string(cpus_usable()) + " CPUs usable";
  if (!adapt_enabled()) s += ", fixed";
  else if (g_others >= 0) s += ", other programs using " + std::to_string(int(g_others * 10 + 0.5) / 10) + "." +
                               std::to_string(int(g_others * 10 + 0.5) % 10);
  return s + "), pool " + (pool_shared() ? "shared" : "alone") + ", OpenMP " + wait_policy() + ", OpenBLAS " +
         std::to_string(openblas_get_num_threads()) + " thread inside each";
}

}  // namespace cg::cpu
