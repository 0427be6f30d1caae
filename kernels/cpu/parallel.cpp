// The chunk-sharing thread pool (see parallel.h). One loop at a time: the caller writes
// the loop into one of two job slots and bumps a claim word holding (generation, next
// item); helpers and caller take chunks by compare-and-swap on that word, so a helper
// that wakes after the loop has ended finds a newer generation and takes nothing.
#include "kernels/cpu/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/check.h"
#include "base/nvtx.h"
#include "kernels/cpu/threads.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define CG_PAUSE() _mm_pause()
#else
#define CG_PAUSE() std::this_thread::yield()
#endif

namespace cg::cpu {

namespace {

// A loop being shared. Two slots alternate by generation: a slot is rewritten only two
// loops later, after the claim word has moved past its generation, so a thread whose
// compare-and-swap succeeds read the fields of the loop it claimed from.
struct Job {
  std::atomic<ChunkFn> body{nullptr};
  std::atomic<const void*> ctx{nullptr};
  std::atomic<const char*> name{nullptr};
  std::atomic<int64_t> n{0}, grain{1};
  std::atomic<int> divide{2};   // a claim takes the rest / divide (in whole grains)
  std::atomic<bool> fixed{false};  // ... or, shared, n / divide
  std::atomic<int> helpers{0};  // helpers 0 .. helpers-1 may take part
  std::atomic<int> tail{0};     // items at the end that only the caller takes
  alignas(64) std::atomic<int> done{0};  // items finished (the caller sleeps on it)
};

// One helper's state the caller reads when it waits (move_holder), in a line of its own.
struct alignas(64) HelperState {
  std::atomic<pid_t> tid{0};
  std::atomic<uint32_t> holding{0};  // the generation whose chunk it runs; 0: none
  std::atomic<bool> moved{false};    // the caller moved it to the caller's CPU
};
constexpr int kMovableHelpers = 64;  // helpers past these are never moved

struct Pool {
  Job jobs[2];
  HelperState helper[kMovableHelpers];
  // Each of these in a cache line of its own: every claim writes `claim`, every chunk
  // `done`, and the two threads would otherwise take the line from each other.
  alignas(64) std::atomic<uint64_t> claim{0};  // (generation << 32) | next item
  alignas(64) std::atomic<int> epoch{0};       // bumped with every loop; sleeping helpers wait on it
  alignas(64) std::atomic<bool> shared{false};
  std::mutex busy;   // one loop at a time; others run alone
  std::mutex start;  // guards threads
  std::vector<std::thread> threads;
  std::atomic<int> started{0};  // threads.size(), read without the lock on every loop
  uint32_t generation = 0;  // the caller's, under busy
  // Counters for PoolStats (relaxed: read as a whole only when the pool is quiet).
  alignas(64) std::atomic<int64_t> loops{0}, chunks{0}, by_helpers{0}, waits{0}, wait_ns{0}, moves{0};
};

// COVERGAN_POOL_MODE=shared|alone fixes the mode (A/B timing); set_pool_shared then does
// nothing.
int forced_mode() {
  static const int m = [] {
    const char* e = std::getenv("COVERGAN_POOL_MODE");
    if (!e) return -1;
    const std::string v(e);
    return v == "shared" ? 1 : v == "alone" ? 0 : -1;
  }();
  return m;
}

// Shared mode's settings, each overridable for A/B timing (docs/PERFORMANCE.md): helpers
// beyond the CPUs (COVERGAN_SHARED_EXTRA, default 0), chunks per thread
// (COVERGAN_SHARED_CHUNKS, 32) and the rounds an idle helper spins before it sleeps
// (COVERGAN_SHARED_SPIN, 2000). An unset or out-of-range variable keeps the default.
int env_int(const char* name, int fallback, int lowest) {
  const char* v = std::getenv(name);
  return v && std::atoi(v) >= lowest ? std::atoi(v) : fallback;
}
int shared_extra() {
  static const int e = env_int("COVERGAN_SHARED_EXTRA", 0, 0);
  return e;
}
int shared_chunks() {
  static const int c = env_int("COVERGAN_SHARED_CHUNKS", 32, 1);
  return c;
}
int shared_spin() {
  static const int c = env_int("COVERGAN_SHARED_SPIN", 2000, 1);
  return c;
}

// COVERGAN_SHARED_MOVE=0: the caller never moves a helper to its CPU (move_holder; A/B).
bool move_enabled() {
  static const bool b = env_int("COVERGAN_SHARED_MOVE", 1, 0) > 0;
  return b;
}

// Shared, each pool thread runs its chunks bound to a CPU of its own, one per CPU of the
// process's affinity mask: the caller to the first, helper i to the (i+1)-th. Left
// unbound, the caller and the helper often shared one CPU while the busy program had the
// other: beside one busy loop the 64x64 iteration took 1.64-1.65x its time alone, bound
// 1.47-1.52x (docs/PERFORMANCE.md). The caller is bound only while it runs a loop, so
// the threads it starts (OpenMP's, the data loader's) may use every CPU.
// COVERGAN_SHARED_BIND=0 leaves the threads unbound (A/B).
bool shared_bind() {
  static const bool b = env_int("COVERGAN_SHARED_BIND", 1, 0) > 0;
  return b;
}

// The process's CPUs, read once, at the first bind_thread: before any pool thread is bound
// (a thread started by a bound one would report its single CPU). Helpers are started
// while the caller is unbound, so they inherit the whole mask too.
struct Cpus {
  cpu_set_t mask;
  std::vector<int> ids;
};
const Cpus& process_cpus() {
  static const Cpus c = [] {
    Cpus r;
    CPU_ZERO(&r.mask);
    if (sched_getaffinity(0, sizeof r.mask, &r.mask) == 0)
      for (int i = 0; i < CPU_SETSIZE; ++i)
        if (CPU_ISSET(i, &r.mask)) r.ids.push_back(i);
    return r;
  }();
  return c;
}

// Shared, a helper whose chunks are short asks the scheduler for short time slices (100
// microseconds, the least Linux allows; its EEVDF scheduler honours them from 6.12, older
// kernels ignore them). Woken for a loop beside a busy program, it then runs within such
// a slice instead of after the busy program's whole one (1.4 ms here), by when the
// caller had done the loop alone: the helper's share of the 32x32 iteration's chunks rose
// from 4-5 % to 19 %. Its share of the CPU over time stays the same. Policy and nice are
// kept; COVERGAN_SHARED_SLICE_US=N asks for N (0: the kernel's default; A/B).
struct SchedAttr {  // the kernel's struct sched_attr, first version (glibc has no wrapper)
  uint32_t size, policy;
  uint64_t flags;
  int32_t nice;
  uint32_t priority;
  uint64_t runtime, deadline, period;
};
thread_local int64_t t_slice_us = -1;  // the slice this thread asked for; 0: the kernel's default
void set_slice(int64_t us) {
  if (us == t_slice_us) return;
  SchedAttr a{};
  if (syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) != 0) return;
  if (a.policy != SCHED_OTHER && a.policy != SCHED_BATCH && a.policy != SCHED_IDLE) return;  // not the fair class
  a.size = sizeof a;
  a.runtime = uint64_t(us) * 1000;
  syscall(SYS_sched_setattr, 0, &a, 0);  // a refusal (seccomp, an old kernel) changes nothing
  t_slice_us = us;
}
int short_slice_us() {
  static const int us = env_int("COVERGAN_SHARED_SLICE_US", 100, 0);
  return us;
}
// A helper's chunk times since its last choice of slice: the sums of d and d^2 (seconds).
thread_local double t_chunk_s = 0, t_chunk_s2 = 0;

// Short slices only while the helper's chunks fit in one (their time-weighted mean is
// under the slice): longer chunks the busy program would interrupt, and the caller would
// wait for them at the end of each loop (64x64, chunks of 100-400 microseconds: 22-30 ms
// of waits per iteration against 3-8). The 32x32 iteration's chunks take 30-85.
void choose_slice(bool shared) {
  if (!shared) {
    set_slice(0);
    t_chunk_s = t_chunk_s2 = 0;
    return;
  }
  if (t_chunk_s < 2e-3) return;  // too little seen since the last choice
  set_slice(t_chunk_s2 / t_chunk_s < 1e-6 * short_slice_us() ? short_slice_us() : 0);
  t_chunk_s = t_chunk_s2 = 0;
}

thread_local int t_bound = -1;  // the slot this thread is bound to; -1: the process's mask

// The slot-th CPU of the process's mask alone; slot -1: the whole mask.
cpu_set_t slot_mask(int slot) {
  const Cpus& c = process_cpus();
  cpu_set_t m = c.mask;
  if (slot >= 0 && !c.ids.empty()) {
    CPU_ZERO(&m);
    CPU_SET(c.ids[size_t(slot) % c.ids.size()], &m);
  }
  return m;
}

// Binds the calling thread to the slot-th CPU of the process's mask; slot -1 unbinds it.
void bind_thread(int slot) {
  if (slot == t_bound || process_cpus().ids.size() < 2) return;
  const cpu_set_t m = slot_mask(slot);
  if (pthread_setaffinity_np(pthread_self(), sizeof m, &m) == 0) t_bound = slot;
}

Pool& pool() {
  static Pool* p = [] {
    Pool* q = new Pool;  // never destroyed: helpers run until the process ends
    q->shared = forced_mode() == 1;
    return q;
  }();
  return *p;
}

thread_local bool t_in_pool = false;  // a helper, or a caller inside its loop
thread_local bool t_helper = false;
thread_local HelperState* t_state = nullptr;  // a helper's own, when it has one

// Rounds of pause (about 20 ns each here) a waiting thread spins before it sleeps: alone,
// about 200 microseconds, more than most gaps between an iteration's loops (waking a
// sleeping helper costs tens of microseconds of its share of the next loop); beside other
// programs 40, far less than a scheduler time slice, so a spinning thread does not keep
// a CPU from the thread whose chunk it waits for (a helper's own idle spin there:
// shared_spin(); longer spins raised its share of the chunks but also the caller's waits).
int spin_rounds(const Pool& p) { return p.shared.load(std::memory_order_relaxed) ? 2000 : 10000; }
int helper_spin_rounds(const Pool& p) { return p.shared.load(std::memory_order_relaxed) ? shared_spin() : 10000; }
// A claim takes the rest of the loop over (kDivide x threads), in whole grains: large
// chunks first, then smaller ones, so the threads finish together (guided scheduling).
// Beside other programs every claim is the loop over (shared_chunks() x threads), and
// helpers leave the last two such chunks to the caller (parallel.h, set_pool_shared).
constexpr int kDivide = 2;

// Items [idx, idx + k) of a loop of n: the next claim's size. Alone, the rest over divide
// (guided); shared, a fixed n / divide, so no chunk a helper holds is large.
int64_t claim_size(int64_t idx, int64_t limit, int64_t n, int64_t grain, int divide, bool fixed) {
  const int64_t want = std::max(grain, (fixed ? n : n - idx) / divide);
  return std::min(limit - idx, (want + grain - 1) / grain * grain);
}

// Takes and runs chunks of generation gen until none is left.
void drain(Pool& p, uint32_t gen) {
  Job& job = p.jobs[gen & 1];
  const ChunkFn body = job.body.load();
  const void* ctx = job.ctx.load();
  const int64_t n = job.n.load(), grain = job.grain.load();
  const int divide = job.divide.load();
  const bool fixed = job.fixed.load();
  const int64_t limit = n - (t_helper ? job.tail.load() : 0);  // this thread takes items below
  const char* name = job.name.load();
  std::optional<NvtxRange> scope;  // opened at the first chunk this thread takes
  int64_t chunks = 0;
  for (uint64_t c = p.claim.load();;) {
    const int64_t idx = int64_t(c & 0xffffffffu);
    if (uint32_t(c >> 32) != gen || idx >= limit) break;
    const int64_t k = claim_size(idx, limit, n, grain, divide, fixed);
    if (!p.claim.compare_exchange_weak(c, c + uint64_t(k))) continue;  // c reloaded
    if (name && !scope) scope.emplace(name);
    if (t_state) t_state->holding.store(gen, std::memory_order_relaxed);
    if (t_helper && fixed) {  // shared: the helper's chunk times choose its slice
      const auto t0 = std::chrono::steady_clock::now();
      body(ctx, idx, idx + k);
      const double d = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      t_chunk_s += d, t_chunk_s2 += d * d;
    } else {
      body(ctx, idx, idx + k);
    }
    if (t_state) t_state->holding.store(0, std::memory_order_relaxed);
    ++chunks;
    if (job.done.fetch_add(int(k)) + k == n) job.done.notify_all();
    c = p.claim.load();
  }
  p.chunks.fetch_add(chunks, std::memory_order_relaxed);
  if (t_helper) p.by_helpers.fetch_add(chunks, std::memory_order_relaxed);
}

// A helper the caller moved to its own CPU goes back to its place (its slot, or the
// whole mask) as soon as it sees the flag: after the chunk it was moved for.
void return_if_moved(int index, bool shared) {
  if (!t_state || !t_state->moved.load(std::memory_order_relaxed) || !t_state->moved.exchange(false)) return;
  t_bound = -2;  // its mask is no longer the one t_bound names
  bind_thread(shared && shared_bind() ? index + 1 : -1);
}

void helper_main(int index) {
  t_in_pool = true, t_helper = true;
  Pool& p = pool();
  if (index < kMovableHelpers) t_state = &p.helper[index], t_state->tid.store(pid_t(syscall(SYS_gettid)));
  uint32_t last = 0;
  for (;;) {
    return_if_moved(index, p.shared.load(std::memory_order_relaxed));
    const int e = p.epoch.load();
    uint64_t c = p.claim.load();
    for (int i = 0, n = helper_spin_rounds(p); uint32_t(c >> 32) == last && i < n; ++i) {
      if (t_state && t_state->moved.load(std::memory_order_relaxed)) break;
      CG_PAUSE(), c = p.claim.load();
    }
    if (uint32_t(c >> 32) == last) {
      if (t_state && t_state->moved.load(std::memory_order_relaxed)) continue;
      p.epoch.wait(e);  // returns at once if a loop was published since e was read
      continue;
    }
    last = uint32_t(c >> 32);
    const bool shared = p.shared.load(std::memory_order_relaxed);
    choose_slice(shared);
    return_if_moved(index, shared);
    bind_thread(shared && shared_bind() ? index + 1 : -1);
    if (index < p.jobs[last & 1].helpers.load()) drain(p, last);
  }
}

void ensure_helpers(Pool& p, int want) {
  if (p.started.load() >= want) return;
  std::lock_guard<std::mutex> lock(p.start);
  while (int(p.threads.size()) < want) {
    p.threads.emplace_back(helper_main, int(p.threads.size()));
    p.threads.back().detach();
    p.started.store(int(p.threads.size()));
  }
}

// Bound beside other programs, a helper that still holds a chunk when the caller is about
// to sleep has usually been preempted on its own CPU by another program, and it may not
// run on the caller's CPU, which the caller's sleep leaves idle: the caller then waited
// out the other program's time slice (8-13 ms per 64x64 iteration). So the caller moves
// that helper to its own CPU first; the helper goes back after the chunk.
void move_holder(Pool& p, const Job& job, uint32_t gen) {
  if (!p.shared.load(std::memory_order_relaxed) || !shared_bind() || t_bound != 0) return;
  const int helpers = std::min(job.helpers.load(), kMovableHelpers);
  for (int i = 0; i < helpers; ++i) {
    HelperState& h = p.helper[i];
    const pid_t tid = h.tid.load(std::memory_order_relaxed);
    if (tid == 0 || h.holding.load(std::memory_order_relaxed) != gen) continue;
    const cpu_set_t m = slot_mask(0);  // the caller's CPU
    if (sched_setaffinity(tid, sizeof m, &m) != 0) return;
    h.moved.store(true);  // after the move, not before: see return_if_moved
    p.moves.fetch_add(1, std::memory_order_relaxed);
    return;  // one: the caller's CPU has room for one
  }
}

// Waits until the helpers have finished the chunks they took: a short spin, then asleep.
void wait_done(Pool& p, Job& job, int64_t n, uint32_t gen) {
  int d = job.done.load();
  if (d >= n) return;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0, r = spin_rounds(p); d < n && i < r; ++i) CG_PAUSE(), d = job.done.load();
  if (d < n && move_enabled()) move_holder(p, job, gen), d = job.done.load();
  while (d < n) job.done.wait(d), d = job.done.load();
  p.waits.fetch_add(1, std::memory_order_relaxed);
  p.wait_ns.fetch_add((std::chrono::steady_clock::now() - t0).count(), std::memory_order_relaxed);
}

}  // namespace

void parallel_chunks(const char* name, int64_t n, int64_t grain, ChunkFn body, const void* ctx) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  CG_CHECK(n < (int64_t(1) << 31), "parallel_chunks: a loop of ", n, " items, more than the pool counts");
  Pool& p = pool();
  const bool shared = p.shared.load(std::memory_order_relaxed);
  const int cpus = compute_threads();
  const int threads = n > grain && !t_in_pool ? cpus + (shared && cpus > 1 ? shared_extra() : 0) : 1;
  std::unique_lock<std::mutex> lock(p.busy, std::defer_lock);
  if (threads <= 1 || !lock.try_lock()) {
    body(ctx, 0, n);
    return;
  }
  const int helpers = int(std::min<int64_t>(threads, (n + grain - 1) / grain)) - 1;
  ensure_helpers(p, helpers);
  const bool bind = shared && shared_bind();
  if (bind) bind_thread(0);
  const uint32_t gen = ++p.generation ? p.generation : ++p.generation;  // 0 is "none yet"
  Job& job = p.jobs[gen & 1];
  job.body = body, job.ctx = ctx, job.name = name;
  job.n = n, job.grain = grain, job.helpers = helpers, job.done = 0;
  job.divide = shared ? shared_chunks() * threads : kDivide * threads, job.fixed = shared;
  const int64_t tail = shared ? std::min(n - 1, std::max(2 * grain, 2 * n / (shared_chunks() * threads))) : 0;
  job.tail = int(n - (n - tail) / grain * grain);  // helpers stop at a whole grain
  p.claim.store(uint64_t(gen) << 32);
  p.epoch.fetch_add(1);
  p.epoch.notify_all();
  t_in_pool = true;
  drain(p, gen);
  t_in_pool = false;
  wait_done(p, job, n, gen);
  if (bind) bind_thread(-1);
  p.loops.fetch_add(1, std::memory_order_relaxed);
}

void set_pool_shared(bool shared) {
  if (forced_mode() < 0) pool().shared.store(shared);
}

bool pool_shared() { return pool().shared.load(); }

PoolStats pool_stats() {
  Pool& p = pool();
  PoolStats s;
  s.helpers = p.started.load();
  s.loops = p.loops.load(), s.chunks = p.chunks.load(), s.by_helpers = p.by_helpers.load();
  s.waits = p.waits.load(), s.wait_ms = double(p.wait_ns.load()) * 1e-6, s.moves = p.moves.load();
  return s;
}

}  // namespace cg::cpu
