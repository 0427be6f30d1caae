// The kernels' thread pool (kernels/cpu/parallel.h): every chunk of a loop runs exactly
// once whatever the thread count and mode; nested loops and loops from two threads at
// once run correctly; chunks shrink towards a loop's end; shared mode cuts loops finer
// and leaves the last chunks to the caller; a helper that holds a chunk for a long time delays only that chunk.
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
    CHECK(((hi - lo) % grain == 0 || hi == n));  // whole grains, but for the loop's end
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

// The chunks' sizes on 2 threads, in the order they were claimed.
std::vector<int64_t> chunk_sizes(int64_t n, int64_t grain) {
  std::mutex m;
  std::vector<std::pair<int64_t, int64_t>> chunks;
  cpu::parallel_for("sizes", n, grain, [&](int64_t lo, int64_t hi) {
    std::lock_guard<std::mutex> lock(m);
    chunks.emplace_back(lo, hi - lo);
  });
  std::sort(chunks.begin(), chunks.end());
  std::vector<int64_t> sizes;
  for (const auto& c : chunks) sizes.push_back(c.second);
  return sizes;
}

TEST_CASE("chunks shrink towards a loop's end, and in shared mode are all 1/64 of the loop") {
  {
    PoolSetting setting(2, false);
    const std::vector<int64_t> s = chunk_sizes(6400, 10);
    CHECK(s.front() == 1600);  // the first claim: the loop over twice the threads
    CHECK(*std::max_element(s.begin(), s.end()) == 1600);
    CHECK(s.back() == 10);  // one grain at the end
    CHECK(std::is_sorted(s.rbegin(), s.rend()));  // in claim order, never larger
  }
  {
    PoolSetting setting(2, true);
    const std::vector<int64_t> s = chunk_sizes(6400, 10);
    CHECK(s.size() == 64);  // 6400 over 32 chunks per thread on 2 threads
    CHECK(*std::min_element(s.begin(), s.end()) == 100);
    CHECK(*std::max_element(s.begin(), s.end()) == 100);
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
  std::atomic<int64_t> by_caller{0}, held{0};
  const cpu::PoolStats before = cpu::pool_stats();
  // The first chunk a helper takes stands for a helper the OS paused: it sleeps 300 ms.
  std::atomic<bool> slept{false};
  cpu::parallel_for("slow", 64, 1, [&](int64_t lo, int64_t hi) {
    if (std::this_thread::get_id() == caller)
      by_caller.fetch_add(hi - lo);
    else if (!slept.exchange(true))
      held = hi - lo, std::this_thread::sleep_for(std::chrono::milliseconds(300));
  });
  const cpu::PoolStats after = cpu::pool_stats();
  CHECK(after.loops == before.loops + 1);
  CHECK(after.chunks > before.chunks);
  if (slept.load()) {  // the helper joined: the caller ran every item but the held chunk's
    CHECK(held.load() <= 16);  // at most the first claim: 64 over twice 2 threads
    CHECK(by_caller.load() == 64 - held.load());
    CHECK(after.waits == before.waits + 1);
    CHECK(after.wait_ms - before.wait_ms > 50);
  }
  CHECK(after.helpers >= 1);
}
