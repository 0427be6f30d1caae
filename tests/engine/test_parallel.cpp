// The kernels' thread pool (kernels/cpu/parallel.h): every chunk of a loop runs exactly
// once whatever the thread count and mode; nested loops and loops from two threads at
// once run correctly; chunks shrink towards a loop's end; shared mode cuts loops finer,
// leaves the last chunks to the caller and binds each thread to a CPU of its own, and a
// waiting caller moves a helper that holds a chunk to its CPU; a helper that holds a
// chunk for a long time delays only that chunk; helpers ask for short time slices.
#include <pthread.h>
#include <sched.h>
#include <sys/utsname.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
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

namespace {

// The CPUs the calling thread may run on.
std::vector<int> my_cpus() {
  cpu_set_t m;
  CPU_ZERO(&m);
  std::vector<int> ids;
  if (sched_getaffinity(0, sizeof m, &m) == 0)
    for (int i = 0; i < CPU_SETSIZE; ++i)
      if (CPU_ISSET(i, &m)) ids.push_back(i);
  return ids;
}

// Why shared mode runs unbound here (fewer than 2 CPUs, COVERGAN_SHARED_BIND=0, or a
// system that refuses to bind a thread: a sandbox, where the pool runs unbound, as it
// should), or null when it binds. Leaves the calling thread on all of `all`.
const char* no_binding(const std::vector<int>& all) {
  if (all.size() < 2) return "fewer than 2 CPUs in the affinity mask";
  if (const char* e = std::getenv("COVERGAN_SHARED_BIND"); e && std::atoi(e) == 0) return "COVERGAN_SHARED_BIND=0";
  cpu_set_t one, every;
  CPU_ZERO(&one);
  CPU_SET(all[0], &one);
  REQUIRE(sched_getaffinity(0, sizeof every, &every) == 0);
  if (pthread_setaffinity_np(pthread_self(), sizeof one, &one) != 0) return "this system refuses to bind a thread to a CPU";
  REQUIRE(pthread_setaffinity_np(pthread_self(), sizeof every, &every) == 0);
  return nullptr;
}

struct ChunkPlace {
  bool by_caller;
  std::vector<int> cpus;
};

// Where each chunk of a 64-chunk loop ran: by the caller or a helper, and on which CPUs.
std::vector<ChunkPlace> chunk_places() {
  const std::thread::id caller = std::this_thread::get_id();
  std::mutex m;
  std::vector<ChunkPlace> places;
  cpu::parallel_for("places", 64, 1, [&](int64_t, int64_t) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));  // time for the helper to join
    ChunkPlace p{std::this_thread::get_id() == caller, my_cpus()};
    std::lock_guard<std::mutex> lock(m);
    places.push_back(p);
  });
  return places;
}

}  // namespace

TEST_CASE("in shared mode the caller and each helper run their chunks bound to CPUs of their own, and alone unbound") {
  const std::vector<int> all = my_cpus();
  if (const char* why = no_binding(all)) CG_SKIP(why);
  PoolSetting setting(2, true);
  bool helper_ran = false;
  // Ten rounds, and more until the helper has joined one (a busy machine may keep it asleep).
  for (int round = 0; round < 10 || (!helper_ran && round < 300); ++round) {
    const int64_t moves = cpu::pool_stats().moves;
    const std::vector<ChunkPlace> places = chunk_places();
    int on_callers = 0;  // helper chunks run on the caller's CPU: the one the waiting caller moved
    for (size_t i = 0; i < places.size(); ++i) {
      const ChunkPlace& p = places[i];
      REQUIRE(p.cpus.size() == 1);
      if (p.by_caller || p.cpus[0] == all[1]) {
        CHECK(p.cpus[0] == (p.by_caller ? all[0] : all[1]));  // the caller first, helper 0 second
      } else {  // the helper's last chunk of the loop, after the caller ran out of chunks
        CHECK(p.cpus[0] == all[0]);
        CHECK(std::none_of(places.begin() + std::ptrdiff_t(i) + 1, places.end(), [](const ChunkPlace& q) { return !q.by_caller; }));
        ++on_callers;
      }
      helper_ran = helper_ran || !p.by_caller;
    }
    CHECK(on_callers <= cpu::pool_stats().moves - moves);
    CHECK(my_cpus() == all);  // between loops the caller is unbound: threads it starts get every CPU
  }
  CHECK(helper_ran);
  cpu::set_pool_shared(false);
  for (int round = 0; round < 3; ++round)
    for (const ChunkPlace& p : chunk_places()) CHECK(p.cpus == all);
}

TEST_CASE("shared, a waiting caller moves the helper that holds a chunk to its own CPU, and the helper goes back") {
  const std::vector<int> all = my_cpus();
  if (const char* why = no_binding(all)) CG_SKIP(why);
  if (const char* e = std::getenv("COVERGAN_SHARED_MOVE"); e && std::atoi(e) == 0) CG_SKIP("COVERGAN_SHARED_MOVE=0");
  PoolSetting setting(2, true);
  const std::thread::id caller = std::this_thread::get_id();
  // The helper's first chunk stands for a helper another program keeps off its CPU: it
  // holds the chunk until it finds itself on the caller's CPU (at most 2 s).
  bool moved = false, joined = false;
  for (int round = 0; round < 100 && !joined; ++round) {
    const int64_t moves = cpu::pool_stats().moves;
    std::atomic<bool> first{true}, seen{false};
    cpu::parallel_for("held", 64, 1, [&](int64_t, int64_t) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));  // time for the helper to join
      if (std::this_thread::get_id() == caller || !first.exchange(false)) return;
      const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      while (std::chrono::steady_clock::now() < end && !seen)
        if (my_cpus() == std::vector<int>{all[0]}) seen = true;
        else std::this_thread::sleep_for(std::chrono::microseconds(100));
    });
    joined = !first.load();
    if (!joined) continue;
    moved = seen.load();
    CHECK(cpu::pool_stats().moves == moves + 1);
  }
  if (!joined) CG_SKIP("the helper never joined a loop (a busy machine)");
  CHECK(moved);
  // The next loops' helper chunks run on the helper's own CPU again.
  bool back = false;
  for (int round = 0; round < 300 && !back; ++round)
    for (const ChunkPlace& p : chunk_places())
      if (!p.by_caller && p.cpus == std::vector<int>{all[1]}) back = true;
  CHECK(back);
}

namespace {

// The calling thread's time slice in nanoseconds (/proc/thread-self/sched, "se.slice"),
// or -1 where the kernel does not show it.
int64_t my_slice_ns() {
  std::ifstream f("/proc/thread-self/sched");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("se.slice", 0) == 0) return std::atoll(line.substr(line.find(':') + 1).c_str());
  return -1;
}

// Linux's version as major * 100 + minor ("6.18.44-..." is 618).
int kernel_version() {
  utsname u{};
  int major = 0, minor = 0;
  return uname(&u) == 0 && std::sscanf(u.release, "%d.%d", &major, &minor) == 2 ? major * 100 + minor : 0;
}

}  // namespace

// The slice a helper ran with in the last of `loops` 64-chunk loops whose chunks each
// take `chunk_us` of busy work (0 if no helper took a chunk of it). Only the helper's
// first chunk of the last loop reads it: reading /proc takes tens of microseconds, which
// the helper would count in its chunk times, from which it chooses its slice.
int64_t helper_slice_after(int loops, int chunk_us) {
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<int64_t> slice{0};
  std::atomic<bool> read{false};
  for (int l = 0; l < loops; ++l)
    cpu::parallel_for("slices", 64, 1, [&](int64_t, int64_t) {
      const auto end = std::chrono::steady_clock::now() + std::chrono::microseconds(chunk_us);
      while (std::chrono::steady_clock::now() < end) {
      }
      if (l == loops - 1 && std::this_thread::get_id() != caller && !read.exchange(true)) slice = my_slice_ns();
    });
  return slice.load();
}

TEST_CASE("shared, a helper asks for 100-microsecond slices while its chunks are shorter, else the default") {
  if (kernel_version() < 612) CG_SKIP("a kernel before 6.12 has no custom slices");
  if (std::getenv("COVERGAN_SHARED_SLICE_US")) CG_SKIP("COVERGAN_SHARED_SLICE_US is set");
  PoolSetting setting(2, true);
  if (cpu::compute_threads() < 2) CG_SKIP("one thread");
  const int64_t own = my_slice_ns();  // the caller's: the kernel's default, never changed
  if (own < 0) CG_SKIP("no se.slice in /proc/thread-self/sched");
  REQUIRE(own != 100000);
  // A chunk the OS paused looks long, and a helper may join no chunk of a loop: on a busy
  // machine (ctest -j, a sanitizer build) each case gets a few tries.
  int64_t short_chunks = 0, long_chunks = 0;
  for (int t = 0; t < 5 && short_chunks != 100000; ++t) short_chunks = helper_slice_after(40, 10);
  for (int t = 0; t < 5 && long_chunks != own; ++t) long_chunks = helper_slice_after(20, 400);
  cpu::set_pool_shared(false);
  int64_t alone = 0;
  for (int t = 0; t < 5 && alone == 0; ++t) alone = helper_slice_after(10, 50);
  INFO("slices (ns): short chunks ", short_chunks, ", long ", long_chunks, ", alone ", alone, ", the caller ", own);
  if (short_chunks == 0 || long_chunks == 0 || alone == 0) CG_SKIP("the helper took no chunk of a last loop (a busy machine)");
  CHECK(short_chunks == 100000);
  CHECK(long_chunks == own);
  CHECK(alone == own);
  CHECK(my_slice_ns() == own);
}
