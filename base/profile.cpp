// The per-op profiler (see profile.h): a stack of open scopes on the recording thread,
// one row per name, self time = inclusive time minus the children's.
#include "base/profile.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <sstream>
#include <thread>
#include <unordered_map>

namespace cg::prof {

std::atomic<bool> g_on{false};

namespace {

struct Frame {
  const char* name;
  double t0, child_s;
  size_t row;
};

struct State {
  std::vector<Frame> stack;
  std::vector<Row> rows;
  std::unordered_map<std::string, size_t> index;
  SyncFn sync = nullptr;
  std::thread::id thread;  // the one thread that records (the loader's threads do not)
};
State g;

double now() {
  using C = std::chrono::steady_clock;
  return std::chrono::duration<double>(C::now().time_since_epoch()).count();
}

}  // namespace

void Scope::begin(const char* name) {
  if (std::this_thread::get_id() != g.thread) return;
  // A backward record and its kernel share a name (conv2d_backward): count them once.
  if (!g.stack.empty() && std::strcmp(g.stack.back().name, name) == 0) return;
  auto it = g.index.find(name);
  if (it == g.index.end()) {
    it = g.index.emplace(name, g.rows.size()).first;
    g.rows.push_back(Row{name});
  }
  if (g.sync) g.sync();
  g.stack.push_back(Frame{name, now(), 0.0, it->second});
  open_ = true;
}

void Scope::end() {
  if (g.sync) g.sync();
  const Frame f = g.stack.back();
  g.stack.pop_back();
  const double dt = now() - f.t0;
  Row& r = g.rows[f.row];
  r.calls += 1;
  r.total_s += dt;
  r.self_s += dt - f.child_s;
  if (!g.stack.empty()) g.stack.back().child_s += dt;
}

void add_work(double flops, double bytes) {
  if (!g_on.load(std::memory_order_relaxed) || std::this_thread::get_id() != g.thread || g.stack.empty()) return;
  Row& r = g.rows[g.stack.back().row];
  r.flops += flops;
  r.bytes += bytes;
}

void start(SyncFn sync) {
  g = State{};
  g.sync = sync;
  g.thread = std::this_thread::get_id();
  g_on = true;
}

void stop() { g_on = false; }

std::vector<Row> rows() {
  std::vector<Row> r = g.rows;
  std::sort(r.begin(), r.end(), [](const Row& a, const Row& b) { return a.self_s > b.self_s; });
  return r;
}

namespace {
std::string rate(const Row& r) {
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(1);
  if (r.flops > 0 && r.self_s > 0) os << r.flops / r.self_s / 1e9 << " GFLOP/s";
  else if (r.bytes > 0 && r.self_s > 0) os << r.bytes / r.self_s / 1e9 << " GB/s";
  return os.str();
}
}  // namespace

std::string table(int64_t iters, double iter_s) {
  const double n = double(std::max<int64_t>(iters, 1));
  char line[256];
  std::string out;
  std::snprintf(line, sizeof line, "%-34s %7s %10s %7s %10s  %s\n", "op", "calls/it", "self ms/it", "share",
                "total ms/it", "self rate");
  out += line;
  double covered = 0;
  for (const Row& r : rows()) {
    covered += r.self_s;
    std::snprintf(line, sizeof line, "%-34s %7.1f %10.3f %6.1f%% %10.3f  %s\n", r.name.c_str(), double(r.calls) / n,
                  r.self_s / n * 1e3, iter_s > 0 ? 100.0 * r.self_s / n / iter_s : 0.0, r.total_s / n * 1e3,
                  rate(r).c_str());
    out += line;
  }
  std::snprintf(line, sizeof line, "%-34s %7s %10.3f %6.1f%%\n", "(outside any op)", "",
                std::max(0.0, iter_s - covered / n) * 1e3, iter_s > 0 ? 100.0 * (1 - covered / n / iter_s) : 0.0);
  out += line;
  return out;
}

std::string csv(int64_t iters, double iter_s) {
  const double n = double(std::max<int64_t>(iters, 1));
  std::ostringstream os;
  os << "op,calls_per_iter,self_ms_per_iter,share,total_ms_per_iter,gflop_per_s,gbyte_per_s\n";
  for (const Row& r : rows()) {
    os << r.name << ',' << double(r.calls) / n << ',' << r.self_s / n * 1e3 << ','
       << (iter_s > 0 ? r.self_s / n / iter_s : 0.0) << ',' << r.total_s / n * 1e3 << ','
       << (r.self_s > 0 ? r.flops / r.self_s / 1e9 : 0.0) << ',' << (r.self_s > 0 ? r.bytes / r.self_s / 1e9 : 0.0)
       << '\n';
  }
  return os.str();
}

}  // namespace cg::prof
