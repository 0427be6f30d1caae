// The CPU kernels' own thread pool: parallel_for hands out a loop's chunks from a shared
// counter to the calling thread and the pool's helpers, large ones first and smaller ones
// towards the end, and returns when every chunk is done. Unlike an OpenMP region it never
// waits for a thread, only for chunks: a helper the OS has paused (a busy machine) holds
// at most the chunk it took, and a helper that has not woken up yet holds none, so the
// caller does the rest itself.
#pragma once
#include <algorithm>
#include <cstdint>

namespace cg::cpu {

// body(ctx, lo, hi) for the chunk [lo, hi) of a loop.
using ChunkFn = void (*)(const void* ctx, int64_t lo, int64_t hi);

// Runs body over [0, n) in chunks, each item exactly once, on up to compute_threads()
// threads (kernels/cpu/threads.h). Each claim takes the rest of the loop over twice the
// thread count (guided scheduling: the threads finish together), rounded up to whole
// `grain`s, the smallest chunk worth a thread's while; chunks start at multiples of grain.
// One call of body over the whole [0, n) on the calling thread when the loop is one grain
// or there is one thread, when called from inside a chunk (nesting) and when another
// thread's loop holds the pool. `name` (a string literal, or null) opens a profile scope /
// NVTX range on each thread for its share: one trace slice per thread. Results must not
// depend on how the loop is cut (every kernel's chunks write disjoint outputs, each summed
// in an order fixed by the shapes), which keeps training bit-identical on any thread count.
void parallel_chunks(const char* name, int64_t n, int64_t grain, ChunkFn body, const void* ctx);

// f(lo, hi) over the chunks of [0, n).
template <class F>
void parallel_for(const char* name, int64_t n, int64_t grain, const F& f) {
  parallel_chunks(
      name, n, grain, [](const void* c, int64_t lo, int64_t hi) { (*static_cast<const F*>(c))(lo, hi); }, &f);
}

// f(i) for every i in [0, n): the pointwise loops, shared when n > serial_max (below it
// one thread is faster than waking another), in chunks of at least serial_max / 2.
template <class F>
void parallel_each(int64_t n, int64_t serial_max, const F& f);
// f(i) for every i in [0, n), shared (one item the smallest chunk) when `share`: loops
// whose items differ in size, which decide from their whole work (N*C*H*W > 65536).
template <class F>
void parallel_each_if(bool share, int64_t n, const F& f);

// Beside other busy programs (threads.h's adapt_threads decides), a helper that shares a
// CPU with one of them is often paused for a scheduler time slice while it holds a chunk,
// and the caller waits for it. Shared mode cuts every loop into 32 chunks per thread and
// leaves the last two to the caller, so a paused helper holds little of the loop and
// never its end. Each thread runs its chunks bound to a CPU of its own (the caller only
// while in a loop), and helpers whose chunks are short ask for short time slices. A
// caller that runs out of chunks while a helper still holds one moves that helper to its
// own CPU before it sleeps (bound, the paused helper could not run there), and the
// helper goes back to its CPU after that chunk.
// Alone, guided chunks are faster (each chunk of a transposed convolution streams its
// weights once, and the threads finish together), and nothing is bound.
void set_pool_shared(bool shared);
bool pool_shared();

// What the pool did since the process started (benchmarks: how much the helpers took on,
// how often and how long callers waited for them).
struct PoolStats {
  int helpers = 0;         // threads started besides the callers
  int64_t loops = 0;       // loops shared (run on more than one thread)
  int64_t chunks = 0;      // their chunks
  int64_t by_helpers = 0;  // chunks the helpers ran
  int64_t waits = 0;       // loops whose caller ran out of chunks before the helpers finished
  double wait_ms = 0;      // the callers' time in those waits
  int64_t moves = 0;       // helpers a waiting caller moved to its own CPU (shared, bound)
};
PoolStats pool_stats();

template <class F>
void parallel_each(int64_t n, int64_t serial_max, const F& f) {
  const auto run = [&f](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) f(i);
  };
  if (n <= serial_max)
    run(0, n);
  else
    parallel_for(nullptr, n, std::max<int64_t>(1, serial_max / 2), run);
}

template <class F>
void parallel_each_if(bool share, int64_t n, const F& f) {
  const auto run = [&f](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) f(i);
  };
  if (share)
    parallel_for(nullptr, n, 1, run);
  else
    run(0, n);
}

}  // namespace cg::cpu
