// The in-program profiler behind `covergan train --profile N`. Four kinds of scope:
// program phases (train_step, d_backward), layers with their pass (`G.deconv1 forward`,
// `D.conv3 backward`), passes inside a layer's backward (backward-data, backward-weight)
// and kernels (every NVTX_RANGE_FN of base/nvtx.h). The thread that called start()
// fills two tables: kernels and phases by self time, and layers by (layer, pass, shape)
// with the FLOPs and bytes their kernels report through add_work. With a trace on, every
// thread (OpenMP workers included) also records one slice per scope for a Chrome trace.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace cg::prof {

enum class Kind : uint8_t { scope, layer, pass, kernel };
const char* kind_name(Kind k);  // "scope", "layer", "pass", "kernel"

extern std::atomic<bool> g_on;  // some thread records (set by start); begin() checks which

// The layer whose forward or backward runs on this thread (null outside any), kept
// whether or not the profiler records: the tape stores it in each record so that the
// backward sweep can open the same layer's backward scope.
const char* current_layer();

// One open scope. Cheap when the profiler is off: one relaxed atomic load. For a layer,
// name is the layer ("G.deconv1") and pass its pass ("forward", "backward"); for a pass,
// name is the pass and the layer is the enclosing one. A layer's backward passes the
// forward's entry (current_entry() when its record was made) as source: its rows take
// that forward's shape.
class Scope {
 public:
  explicit Scope(const char* name, Kind kind = Kind::kernel, const char* pass = nullptr, uint64_t source = 0) {
    if (kind == Kind::layer) {
      if (!name) return;  // a record made outside any layer
      enter_layer(name);
    }
    if (g_on.load(std::memory_order_relaxed)) begin(name, kind, pass, source);
  }
  ~Scope() {
    if (open_) end();
    if (layer_) leave_layer();
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  bool open_ = false, layer_ = false;
  const char* prev_layer_ = nullptr;
  void enter_layer(const char* name);
  void leave_layer();
  void begin(const char* name, Kind kind, const char* pass, uint64_t source);
  void end();
};

// Work of the innermost open scope (a kernel says what it computed and the bytes it
// must at least read and write). Also counts toward the enclosing (layer, pass).
void add_work(double flops, double bytes);
// The innermost layer entry's shape while recording, e.g. "(32,64,16,16) -> (32,128,8,8)"
// (the first noted in an entry counts). A layer run at two shapes (D at the D step's
// joined batch and at the G step's) gets a row per shape, so that each row's rate is one
// kernel shape's. recording(): whether this thread records now. current_entry(): the
// innermost open layer entry on this thread while recording, else 0 (the tape stores it
// in each record so that the backward's rows take the forward's shape).
bool recording();
void note_shape(const std::string& shape);
uint64_t current_entry();

// Starts recording on the calling thread, clearing earlier results. With a sync function
// (the engine passes one that waits for the GPU) every scope boundary calls it, so a
// CUDA op's time is its own. With trace, every thread's scopes become trace slices.
using SyncFn = void (*)();
void start(SyncFn sync = nullptr, bool trace = false);
void stop();

// A kernel or a program phase.
struct Row {
  std::string name;
  Kind kind = Kind::kernel;
  int64_t calls = 0;
  double self_s = 0, total_s = 0;  // exclusive and inclusive wall time
  double flops = 0, bytes = 0;
};
// Kernels and phases by self time, largest first.
std::vector<Row> rows();

// A layer, pass and shape: the time spent inside it (all the kernels it called and its
// own bookkeeping), how often it was entered, and the work its kernels reported.
struct Group {
  std::string layer, pass, shape;
  int64_t calls = 0;
  double s = 0, flops = 0, bytes = 0;
};
// In the order first entered (the model's order: G's forward, D's, ..., the backward).
std::vector<Group> groups();

// Measured ceilings the rates are shown against (0: unknown, column left out).
struct Ceilings {
  double flops = 0;  // FLOP/s (FMA peak)
  double bytes = 0;  // B/s (memory bandwidth)
};

// Per-iteration tables. iters: profiled iterations; iter_s: measured seconds per one.
std::string layer_table(int64_t iters, double iter_s, const Ceilings& c);
std::string kernel_table(int64_t iters, double iter_s, const Ceilings& c);
// One CSV of both: kind (layer, scope or kernel), name, pass, shape, per-iteration calls,
// ms, FLOPs, bytes, then intensity, GFLOP/s, GB/s and % of each ceiling.
std::string csv(int64_t iters, double iter_s, const Ceilings& c);
// The Chrome trace (Perfetto opens it): one "X" slice per scope and thread, in
// microseconds since start(), and a name for each thread.
std::string trace_json();
size_t trace_events();

}  // namespace cg::prof
