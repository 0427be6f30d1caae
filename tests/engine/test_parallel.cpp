// The kernels' thread pool (kernels/cpu/parallel.h): every chunk of a loop runs exactly
// once whatever the thread count and mode; nested loops and loops from two threads at
// once run correctly; shared mode cuts loops finer and leaves the last chunks to the
// caller; a helper that holds a chunk for a long time delays only that chunk.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/threads.h"
#include "support/check.h"
#include "support/skip.h"

using namespace cg;

namespace {

// Sets the thread count and the pool's mode for one scope.
struct PoolSetting {
  int prev;
  bool was_shared;
  PoolSetting(int threads, bool shared) : prev(cpu::set_compute_threads(threads)), was_shared(cpu::pool_shared()) {
    cpu::set_pool_shared(shared);
  }
  ~PoolSetting() {
    cpu::set_compute_threads(prev);
    cpu::set_pool_shared(was_shared);
  }
};

// How many times parallel_for ran each index of [0, n).
std::vector<int> visits(int64_t n, int64_t grain) {
  std::vector<std::atomic<int>> count(size_t(std::max<int64_t>(n, 1)));
  cpu::parallel_for("test", n, grain, [&](int64_t lo, int64_t hi) {
    CHECK(lo < hi);
    CHECK(lo % grain == 0);
    CHECK((hi - lo <= grain || (lo == 0 && hi == n)));  // a chunk, or the whole loop on one thread
    for (int64_t i = lo; i < hi; ++i) count[size_t(i)].fetch_add(1);
  });
  std::vector<int> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(count[size_t(i)].load());
  return out;
}

}  // namespace

TEST_CASE("parallel_for runs every index exactly once on 1 to 4 threads, alone and shared") {
  for (int threads : {1, 2, 3, 4})
    for (bool shared : {false, true}) {
      PoolSetting setting(threads, shared);
      for (int64_t n : {0, 1, 7, 64, 1000, 100003})
        for (int64_t grain : {1, 3, 64, 5000}) {
          INFO(threads << " threads, shared " << shared << ", n " << n << ", grain " << grain);
          const std::vector<int> v = visits(n, grain);
          CHECK(std::count(v.begin(), v.end(), 1) == n);
        }
    }
}

TEST_CASE("grain_for cuts a loop into chunks per thread, 8 times finer in shared mode, never below its floor") {
  {
    PoolSetting setting(2, false);
    CHECK(cpu::grain_for(800, 4, 1) == 100);  // 2 threads x 4 chunks
    CHECK(cpu::grain_for(800, 4, 300) == 300);
    CHECK(cpu::grain_for(3, 4, 1) == 1);
  }
  {
    PoolSetting setting(2, true);
    CHECK(cpu::grain_for(6400, 4, 1) == 100);  // 2 x 4 x 8
    CHECK(cpu::grain_for(6400, 4, 1000) == 1000);
  }
}

TEST_CASE("a loop inside a chunk, and loops started by two threads at once, each run every index once") {
  PoolSetting setting(2, false);
  std::atomic<int64_t> inner_sum{0};
  cpu::parallel_for("outer", 8, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t o = lo; o < hi; ++o) {
      const std::thread::id me = std::this_thread::get_id();
      cpu::parallel_for("inner", 100, 10, [&](int64_t a, int64_t b) {
        CHECK(std::this_thread::get_id() == me);  // nested: on the chunk's own thread
        for (int64_t i = a; i < b; ++i) inner_sum.fetch_add(i);
      });
    }
  });
  CHECK(inner_sum.load() == 8 * 4950);
  std::vector<int> a, b;
  std::thread other([&] { a = visits(50000, 7); });
  b = visits(50000, 7);
  other.join();
  CHECK(std::count(a.begin(), a.end(), 1) == 50000);
  CHECK(std::count(b.begin(), b.end(), 1) == 50000);
}

TEST_CASE("in shared mode the helpers leave a loop's last two chunks to the caller") {
  PoolSetting setting(2, true);
  const std::thread::id caller = std::this_thread::get_id();
  for (int round = 0; round < 20; ++round) {
    std::mutex m;
    std::vector<std::thread::id> by(16);
    cpu::parallel_for("tail", 16, 1, [&](int64_t lo, int64_t) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));  // time for the helper to join
      std::lock_guard<std::mutex> lock(m);
      by[size_t(lo)] = std::this_thread::get_id();
    });
    CHECK(by[14] == caller);
    CHECK(by[15] == caller);
  }
}

TEST_CASE("a helper that holds one chunk for long delays that chunk only: the caller runs the rest") {
  PoolSetting setting(2, false);
  if (cpu::compute_threads() < 2) CG_SKIP("one thread");
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<int> by_caller{0};
  const cpu::PoolStats before = cpu::pool_stats();
  // The first chunk a helper takes stands for a helper the OS paused: it sleeps 300 ms.
  std::atomic<bool> slept{false};
  cpu::parallel_for("slow", 64, 1, [&](int64_t, int64_t) {
    if (std::this_thread::get_id() != caller && !slept.exchange(true))
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    else if (std::this_thread::get_id() == caller)
      by_caller.fetch_add(1);
  });
  const cpu::PoolStats after = cpu::pool_stats();
  CHECK(after.loops == before.loops + 1);
  CHECK(after.chunks == before.chunks + 64);
  if (slept.load()) {  // the helper joined: the caller did every chunk but that one (and any it took before)
    CHECK(by_caller.load() >= 48);
    CHECK(after.waits == before.waits + 1);
    CHECK(after.wait_ms - before.wait_ms > 50);
  }
  CHECK(after.helpers >= 1);
}
