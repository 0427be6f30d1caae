// An in-program per-op profiler. Every NVTX_RANGE_FN() (base/nvtx.h) is also a
// profile scope, so the table uses the names Nsight shows. While a thread has the
// profiler on, each scope adds its wall time (self: children subtracted; total:
// inclusive) and any FLOPs / bytes the kernel reports with prof::add_work. Only the
// thread that called start() records.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace cg::prof {

extern std::atomic<bool> g_on;  // some thread records (set by start); begin() checks which

// One open scope. Cheap when the profiler is off: one relaxed atomic load.
class Scope {
 public:
  explicit Scope(const char* name) {
    if (g_on.load(std::memory_order_relaxed)) begin(name);
  }
  ~Scope() {
    if (open_) end();
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  bool open_ = false;
  void begin(const char* name);
  void end();
};

// Work of the innermost open scope (a kernel says what it computed and moved).
void add_work(double flops, double bytes);

// Starts recording on the calling thread, clearing earlier rows. With a sync function
// (the engine passes one that waits for the GPU) every scope boundary calls it, so a
// CUDA op's time is its own.
using SyncFn = void (*)();
void start(SyncFn sync = nullptr);
void stop();

struct Row {
  std::string name;
  int64_t calls = 0;
  double self_s = 0, total_s = 0;  // exclusive and inclusive wall time
  double flops = 0, bytes = 0;
};
// Rows by self time, largest first.
std::vector<Row> rows();

// A text table: per op calls, self ms per iteration, share of the iteration, total ms,
// GFLOP/s (or GB/s for ops that report only bytes). iter_s: measured seconds per iteration.
std::string table(int64_t iters, double iter_s);
std::string csv(int64_t iters, double iter_s);

}  // namespace cg::prof
