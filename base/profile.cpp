// The profiler (see profile.h): a stack of open scopes on the recording thread. Each
// frame's self time (its time minus its children's) goes to its kernel or phase row and
// to the (layer, pass) group it runs in; per-thread slice buffers feed the trace.
#include "base/profile.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace cg::prof {

std::atomic<bool> g_on{false};

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::scope: return "scope";
    case Kind::layer: return "layer";
    case Kind::pass: return "pass";
    case Kind::kernel: return "kernel";
  }
  return "?";
}

namespace {

constexpr size_t npos = SIZE_MAX;
thread_local const char* t_layer = nullptr;

double now() {
  using C = std::chrono::steady_clock;
  return std::chrono::duration<double>(C::now().time_since_epoch()).count();
}

struct Frame {
  const char* name;  // interned for layers (the "layer pass" text), else the caller's literal
  Kind kind;
  double t0, child_s;
  size_t row;       // kernel / phase row, npos for layers and passes
  size_t group;     // the (layer, pass) this frame runs in, npos outside any layer
  size_t redirect;  // first pass group opened inside (a layer's own time goes there), npos
  uint64_t entry;   // which layer entry this frame belongs to (counts a group's calls)
};

struct GroupAcc {
  Group g;
  uint64_t last_entry = 0;
};

struct Event {
  const char* name;
  Kind kind;
  double t0, dur;
};

// Slices of one thread that does not record the tables (an OpenMP worker).
struct ThreadBuf {
  int tid = 0;
  std::vector<std::pair<const char*, double>> open;
  std::vector<Event> events;
};

struct State {
  std::vector<Frame> stack;
  std::vector<Row> rows;
  std::unordered_map<std::string, size_t> index;  // kind letter + name -> row
  std::vector<GroupAcc> groups;
  std::unordered_map<std::string, size_t> gindex;  // "layer pass" -> group
  std::unordered_map<std::string, std::string> shapes;  // layer -> shape
  std::unordered_set<std::string> names;                // interned slice names
  std::vector<Event> events;                            // the recording thread's slices
  uint64_t entries = 0;
  SyncFn sync = nullptr;
  std::thread::id thread;  // the one thread that fills the tables
  double t_start = 0;
  bool trace = false;
};
State g;

std::mutex g_bufs_mu;
std::vector<std::shared_ptr<ThreadBuf>> g_bufs;
thread_local std::shared_ptr<ThreadBuf> t_buf;

ThreadBuf& thread_buf() {
  if (!t_buf) {
    t_buf = std::make_shared<ThreadBuf>();
    std::lock_guard<std::mutex> lock(g_bufs_mu);
    t_buf->tid = int(g_bufs.size()) + 1;  // 0 is the recording thread
    g_bufs.push_back(t_buf);
  }
  return *t_buf;
}

const char* intern(const std::string& s) { return g.names.insert(s).first->c_str(); }

size_t group_of(const char* layer, const char* pass) {
  const std::string key = std::string(layer ? layer : "(no layer)") + " " + pass;
  auto it = g.gindex.find(key);
  if (it != g.gindex.end()) return it->second;
  GroupAcc a;
  a.g.layer = layer ? layer : "(no layer)";
  a.g.pass = pass;
  g.groups.push_back(a);
  return g.gindex.emplace(key, g.groups.size() - 1).first->second;
}

size_t row_of(const char* name, Kind kind) {
  std::string key(1, char('0' + int(kind)));
  key += name;
  auto it = g.index.find(key);
  if (it != g.index.end()) return it->second;
  Row r;
  r.name = name;
  r.kind = kind;
  g.rows.push_back(r);
  return g.index.emplace(key, g.rows.size() - 1).first->second;
}

size_t effective(const Frame& f) { return f.redirect != npos ? f.redirect : f.group; }

// The layer a pass belongs to: the nearest layer frame's name without its pass.
const char* enclosing_layer() { return t_layer; }

void begin_worker(const char* name, Kind kind) {
  if (!g.trace || kind != Kind::kernel) return;
  thread_buf().open.emplace_back(name, now());
}

}  // namespace

const char* current_layer() { return t_layer; }

void Scope::enter_layer(const char* name) {
  prev_layer_ = t_layer;
  t_layer = name;
  layer_ = true;
}

void Scope::leave_layer() { t_layer = prev_layer_; }

bool recording() { return g_on.load(std::memory_order_relaxed) && std::this_thread::get_id() == g.thread; }

void Scope::begin(const char* name, Kind kind, const char* pass) {
  if (std::this_thread::get_id() != g.thread) {
    begin_worker(name, kind);
    open_ = g.trace && kind == Kind::kernel;
    return;
  }
  // A backward record and its kernel share a name (conv2d_backward; passes may sit in
  // between), and a kernel's parallel region opens its own name again for the workers:
  // count them once.
  if (kind == Kind::kernel)
    for (size_t i = g.stack.size(); i-- > 0 && g.stack[i].kind != Kind::layer;)
      if (g.stack[i].kind == Kind::kernel && std::strcmp(g.stack[i].name, name) == 0) return;
  Frame f{name, kind, 0.0, 0.0, npos, npos, npos, g.stack.empty() ? 0 : g.stack.back().entry};
  const size_t parent = g.stack.empty() ? npos : effective(g.stack.back());
  if (kind == Kind::layer) {
    f.group = group_of(name, pass ? pass : "forward");
    f.entry = ++g.entries;
    f.name = intern(g.groups[f.group].g.layer + " " + g.groups[f.group].g.pass);
  } else if (kind == Kind::pass) {
    f.group = group_of(enclosing_layer(), name);
    GroupAcc& a = g.groups[f.group];
    if (a.last_entry != f.entry || f.entry == 0) a.g.calls += 1, a.last_entry = f.entry;
    // The layer's own time (and its record's) counts with its first pass.
    for (size_t i = g.stack.size(); i-- > 0;) {
      Frame& up = g.stack[i];
      if (up.redirect == npos) up.redirect = f.group;
      if (up.kind == Kind::layer) break;
    }
  } else {
    f.row = row_of(name, kind);
    f.group = parent;
  }
  if (g.sync) g.sync();
  f.t0 = now();
  g.stack.push_back(f);
  open_ = true;
}

void Scope::end() {
  if (std::this_thread::get_id() != g.thread) {
    ThreadBuf& b = thread_buf();
    if (b.open.empty()) return;
    const auto [name, t0] = b.open.back();
    b.open.pop_back();
    b.events.push_back(Event{name, Kind::kernel, t0, now() - t0});
    return;
  }
  if (g.sync) g.sync();
  const Frame f = g.stack.back();
  g.stack.pop_back();
  const double dt = now() - f.t0, self = dt - f.child_s;
  if (f.row != npos) {
    Row& r = g.rows[f.row];
    r.calls += 1;
    r.total_s += dt;
    r.self_s += self;
  }
  const size_t target = effective(f);
  if (target != npos) g.groups[target].g.s += self;
  if (f.kind == Kind::layer && f.redirect == npos) g.groups[f.group].g.calls += 1;
  if (!g.stack.empty()) g.stack.back().child_s += dt;
  if (g.trace) g.events.push_back(Event{f.name, f.kind, f.t0, dt});
}

void add_work(double flops, double bytes) {
  if (!recording() || g.stack.empty()) return;
  const Frame& f = g.stack.back();
  if (f.row != npos) {
    g.rows[f.row].flops += flops;
    g.rows[f.row].bytes += bytes;
  }
  const size_t target = effective(f);
  if (target != npos) {
    g.groups[target].g.flops += flops;
    g.groups[target].g.bytes += bytes;
  }
}

namespace {
// The shape with each tuple's leading number (the batch) cut out, and those numbers:
// "(32,512,8,8) -> (32,1024,4,4)" is "(,512,8,8) -> (,1024,4,4)" and {"32", "32"}.
std::pair<std::string, std::vector<std::string>> split_batches(const std::string& shape) {
  std::pair<std::string, std::vector<std::string>> r;
  for (size_t i = 0; i < shape.size(); ++i) {
    r.first += shape[i];
    if (shape[i] != '(') continue;
    std::string n;
    while (i + 1 < shape.size() && shape[i + 1] != ',' && shape[i + 1] != ')') n += shape[++i];
    r.second.push_back(n);
  }
  return r;
}

// A layer that ran on two batch sizes (D's joined batch in the D step, one batch in the G
// step) shows both in each tuple's batch place, "(32|16,512,8,8) -> (32|16,1024,4,4)";
// any other difference is marked " (varies)".
std::string merged_shape(const std::string& seen, const std::string& shape) {
  if (seen == shape || seen.find(" (varies)") != std::string::npos) return seen;
  const auto a = split_batches(seen), b = split_batches(shape);
  if (a.first != b.first || a.second.size() != b.second.size()) return seen + " (varies)";
  std::string out;
  size_t k = 0;
  for (size_t i = 0; i < a.first.size(); ++i) {
    out += a.first[i];
    if (a.first[i] != '(') continue;
    const std::string& n = a.second[k];
    const std::string m = "|" + b.second[k++];
    out += n + ((n == b.second[k - 1] || ("|" + n + "|").find(m + "|") != std::string::npos) ? "" : m);
  }
  return out;
}
}  // namespace

void note_shape(const std::string& shape) {
  if (!recording() || !t_layer) return;
  auto [it, fresh] = g.shapes.emplace(t_layer, shape);
  if (!fresh) it->second = merged_shape(it->second, shape);
}

void start(SyncFn sync, bool trace) {
  g_on = false;
  g = State{};
  g.sync = sync;
  g.thread = std::this_thread::get_id();
  g.trace = trace;
  {
    std::lock_guard<std::mutex> lock(g_bufs_mu);
    for (auto& b : g_bufs) b->open.clear(), b->events.clear();
  }
  g.t_start = now();
  g_on = true;
}

void stop() { g_on = false; }

std::vector<Row> rows() {
  std::vector<Row> r = g.rows;
  std::stable_sort(r.begin(), r.end(), [](const Row& a, const Row& b) { return a.self_s > b.self_s; });
  return r;
}

std::vector<Group> groups() {
  std::vector<Group> out;
  for (const GroupAcc& a : g.groups) {
    if (a.g.calls == 0 && a.g.s == 0) continue;  // a layer's own group when all its time went to passes
    Group x = a.g;
    auto it = g.shapes.find(x.layer);
    if (it != g.shapes.end()) x.shape = it->second;
    out.push_back(x);
  }
  return out;
}

namespace {
void json_str(std::string& out, const char* s) {
  out += '"';
  for (; *s; ++s) {
    if (*s == '"' || *s == '\\') out += '\\';
    if (static_cast<unsigned char>(*s) >= 0x20) out += *s;
  }
  out += '"';
}
void put_event(std::string& out, const Event& e, int tid, double t_start) {
  char num[96];
  out += out.back() == '[' ? "\n" : ",\n";
  out += "{\"name\":";
  json_str(out, e.name);
  std::snprintf(num, sizeof num, ",\"cat\":\"%s\",\"ph\":\"X\",\"pid\":1,\"tid\":%d,\"ts\":%.3f,\"dur\":%.3f}",
                kind_name(e.kind), tid, (e.t0 - t_start) * 1e6, e.dur * 1e6);
  out += num;
}
void put_thread_name(std::string& out, int tid, const std::string& name) {
  out += out.back() == '[' ? "\n" : ",\n";
  out += "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":" + std::to_string(tid) +
         ",\"args\":{\"name\":";
  json_str(out, name.c_str());
  out += "}}";
}
}  // namespace

std::string trace_json() {
  std::string out = "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[";
  put_thread_name(out, 0, "main (records the tables)");
  for (const Event& e : g.events) put_event(out, e, 0, g.t_start);
  std::lock_guard<std::mutex> lock(g_bufs_mu);
  for (const auto& b : g_bufs) {
    if (b->events.empty()) continue;
    put_thread_name(out, b->tid, "worker " + std::to_string(b->tid));
    for (const Event& e : b->events) put_event(out, e, b->tid, g.t_start);
  }
  out += "\n]}\n";
  return out;
}

size_t trace_events() {
  size_t n = g.events.size();
  std::lock_guard<std::mutex> lock(g_bufs_mu);
  for (auto& b : g_bufs) n += b->events.size();
  return n;
}

}  // namespace cg::prof
