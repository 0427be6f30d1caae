// The profiler (see profile.h): a stack of open scopes on the recording thread. Each
// frame's self time (its time minus its children's) goes to its kernel or phase row and
// to the part (layer entry, pass) it runs in, which joins the (layer, pass, shape) row
// when the entry ends; per-thread slice buffers feed the trace.
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
  size_t group;     // the part (layer entry, pass) this frame runs in, npos outside any layer
  size_t redirect;  // first pass part opened inside (a layer's own time goes there), npos
  uint64_t entry;   // which layer entry this frame belongs to (counts a group's calls)
  uint64_t source;  // a layer frame: the entry whose shape names its rows (its own, or the
                    // forward that recorded a backward's record)
  size_t parts_from;  // the first part a layer frame may own (a pass frame: its own part)
};

// A group: a final row (layer, pass, shape), or while its layer entry runs, the part of
// that entry spent in one pass (folded into the row of the entry's shape when it ends).
struct GroupAcc {
  Group g;
  uint64_t last_entry = 0;
  uint64_t entry = 0;  // a part: its layer entry; a row: the first entry folded into it
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
  std::vector<GroupAcc> groups;                    // rows, by (layer, pass, shape)
  std::unordered_map<std::string, size_t> gindex;  // "layer\npass\nshape" -> row
  std::vector<GroupAcc> parts;                     // the open layer entries' passes
  std::unordered_map<std::string, size_t> pindex;  // "entry pass" -> part
  std::unordered_map<uint64_t, std::string> shapes;  // layer entry -> the shape noted in it
  size_t open_parts = 0;                             // layer and pass frames on the stack
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

// The part of layer entry `entry` spent in `pass` (entry 0: a pass outside any layer).
size_t part_of(uint64_t entry, const char* layer, const char* pass) {
  const std::string key = std::to_string(entry) + " " + pass;
  auto it = g.pindex.find(key);
  if (it != g.pindex.end()) return it->second;
  GroupAcc a;
  a.g.layer = layer ? layer : "(no layer)";
  a.g.pass = pass;
  a.entry = entry;
  g.parts.push_back(a);
  return g.pindex.emplace(key, g.parts.size() - 1).first->second;
}

// The row of (layer, pass, shape): a layer run at two shapes (D's joined batch in the D
// step, one batch in the G step) has a row for each, so each row's rate is one kernel's.
GroupAcc& row_group(const Group& part, const std::string& shape, uint64_t entry) {
  const std::string key = part.layer + "\n" + part.pass + "\n" + shape;
  auto it = g.gindex.find(key);
  if (it != g.gindex.end()) return g.groups[it->second];
  GroupAcc a;
  a.g.layer = part.layer;
  a.g.pass = part.pass;
  a.g.shape = shape;
  a.entry = entry;
  g.groups.push_back(a);
  return g.groups[g.gindex.emplace(key, g.groups.size() - 1).first->second];
}

// A layer entry ended (or a pass outside any layer): its parts go to the rows of its shape.
void fold(size_t from, uint64_t entry, uint64_t source) {
  auto it = g.shapes.find(source);
  const std::string shape = it == g.shapes.end() ? std::string() : it->second;
  for (size_t i = from; i < g.parts.size(); ++i) {
    GroupAcc& p = g.parts[i];
    if (p.entry != entry || (p.g.calls == 0 && p.g.s == 0 && p.g.flops == 0)) continue;
    GroupAcc& r = row_group(p.g, shape, entry);
    r.g.calls += p.g.calls;
    r.g.s += p.g.s;
    r.g.flops += p.g.flops;
    r.g.bytes += p.g.bytes;
    p.g.calls = 0, p.g.s = p.g.flops = p.g.bytes = 0;
  }
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

void Scope::begin(const char* name, Kind kind, const char* pass, uint64_t source) {
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
  Frame f{name, kind, 0.0, 0.0, npos, npos, npos, g.stack.empty() ? 0 : g.stack.back().entry, 0, 0};
  const size_t parent = g.stack.empty() ? npos : effective(g.stack.back());
  if (kind == Kind::layer) {
    f.entry = ++g.entries;
    f.source = source ? source : f.entry;
    f.parts_from = g.parts.size();
    f.group = part_of(f.entry, name, pass ? pass : "forward");
    f.name = intern(g.parts[f.group].g.layer + " " + g.parts[f.group].g.pass);
    ++g.open_parts;
  } else if (kind == Kind::pass) {
    f.group = part_of(f.entry, enclosing_layer(), name);
    f.parts_from = f.group;
    ++g.open_parts;
    GroupAcc& a = g.parts[f.group];
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
  if (target != npos) g.parts[target].g.s += self;
  if (f.kind == Kind::layer && f.redirect == npos) g.parts[f.group].g.calls += 1;
  if (f.kind == Kind::layer) fold(f.parts_from, f.entry, f.source);
  if (f.kind == Kind::pass && f.entry == 0) fold(f.parts_from, 0, 0);
  if ((f.kind == Kind::layer || f.kind == Kind::pass) && --g.open_parts == 0) {
    g.parts.clear();  // no frame refers to a part any more
    g.pindex.clear();
  }
  if (!g.stack.empty()) g.stack.back().child_s += dt;
  if (g.trace) g.events.push_back(Event{f.name, f.kind, f.t0, dt});
}

void add_work(double flops, double bytes) {
  if (!recording() || g.stack.empty()) return;
  const Frame& f = g.stack.back();
  // A kernel opened under a pass of the record that shares its name (linear_backward)
  // was counted once, as that record's frame (begin): its work goes to that row.
  for (size_t i = g.stack.size(); i-- > 0;) {
    const Frame& k = g.stack[i];
    if (k.row != npos) {
      g.rows[k.row].flops += flops;
      g.rows[k.row].bytes += bytes;
      break;
    }
    if (k.kind != Kind::pass) break;
  }
  const size_t target = effective(f);
  if (target != npos) {
    g.parts[target].g.flops += flops;
    g.parts[target].g.bytes += bytes;
  }
}

uint64_t current_entry() {
  if (!recording()) return 0;
  for (size_t i = g.stack.size(); i-- > 0;)
    if (g.stack[i].kind == Kind::layer) return g.stack[i].entry;
  return 0;
}

void note_shape(const std::string& shape) {
  const uint64_t e = current_entry();
  if (e != 0) g.shapes.emplace(e, shape);  // the first noted: the layer's own input and output
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
  std::vector<const GroupAcc*> order;
  for (const GroupAcc& a : g.groups) order.push_back(&a);
  std::stable_sort(order.begin(), order.end(), [](const GroupAcc* a, const GroupAcc* b) { return a->entry < b->entry; });
  std::vector<Group> out;
  for (const GroupAcc* a : order) out.push_back(a->g);
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
