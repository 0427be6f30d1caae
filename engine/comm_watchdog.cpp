// The watchdog of a distributed run (see comm_watchdog.h). Its thread wakes every 50 ms,
// answers other ranks' questions, and when this rank has waited in one collective (or
// for one queued GPU all-reduce) longer than the timeout it asks every rank where it is,
// waits a few seconds for answers, names the ranks that did not come and stops the job
// (MPI_Abort). One rank prints: the lowest of those waiting in the same collective.
// The questions travel on a duplicate of MPI_COMM_WORLD, so they never meet training
// traffic; they need MPI_THREAD_MULTIPLE (Open MPI has it).
#include "engine/comm_watchdog.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "base/check.h"
#include "engine/comm_nccl.h"
#include "engine/device.h"

#if COVERGAN_MPI
#include <mpi.h>
#endif

namespace cg::watchdog {

#if COVERGAN_MPI
namespace {

enum Tag { kAsk = 7101, kReply = 7102, kVerdict = 7103 };

// Where a rank stands, as it answers a question (fixed size: sent as bytes).
struct Status {
  uint64_t seq = 0;     // collectives entered so far (MPI and GPU alike, the same on every rank)
  int32_t inside = 0;   // waiting in collective seq now
  int32_t rank = -1;
  double age = 0;       // seconds in the current state (waiting, or working since the last one)
  char what[80] = {0};  // the collective's name
};

struct PendingGpu {
  void* event;
  const char* what;
  uint64_t seq;
  double t0;
};

void destroy_event(void* e) {
  if constexpr (kCudaBuilt) nccl::event_destroy(e);
}

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct State {
  MPI_Comm diag = MPI_COMM_NULL;
  int rank = 0, size = 1;
  std::vector<std::string> hosts;
  std::vector<long> pids;
  std::atomic<double> timeout{600};
  bool talk = false;
  std::atomic<uint64_t> seq{0};
  std::atomic<bool> inside{false};
  std::atomic<double> since{0};
  std::atomic<const char*> what{"start-up"};
  std::mutex mu;  // guards gpu and the stop flag
  std::condition_variable cv;
  std::deque<PendingGpu> gpu;
  int gpu_index = -1;
  void* nccl_comm = nullptr;
  bool stop = false;
  std::thread thread;
  std::map<int, Status> replies;  // answers during a diagnosis
  bool printed = false;
};
State* g = nullptr;

std::string who(int r) {
  return detail::cat("rank ", r, " of ", g->size, " (host ", g->hosts[size_t(r)], ", pid ", g->pids[size_t(r)], ")");
}

// This rank's status; for a queued GPU all-reduce that has not completed, that one.
Status my_status() {
  Status s;
  s.rank = g->rank;
  std::lock_guard<std::mutex> lk(g->mu);
  if (!g->gpu.empty()) {
    const PendingGpu& p = g->gpu.front();
    s.seq = p.seq, s.inside = 1, s.age = now() - p.t0;
    std::snprintf(s.what, sizeof s.what, "%s", p.what);
    return s;
  }
  s.seq = g->seq.load(), s.inside = g->inside.load() ? 1 : 0, s.age = now() - g->since.load();
  std::snprintf(s.what, sizeof s.what, "%s", g->what.load());
  return s;
}

[[noreturn]] void stop_job(const std::string& sentence) {
  if (!g->printed) std::fprintf(stderr, "covergan: %s\n", sentence.c_str());
  g->printed = true;
  std::fflush(stderr);
  if constexpr (kCudaBuilt && COVERGAN_NCCL)
    if (g->nccl_comm) nccl::abort(g->nccl_comm);
  MPI_Abort(MPI_COMM_WORLD, 3);
  ::_exit(3);
}

// Answers questions, files replies, and prints a verdict another rank sent here.
void serve() {
  for (;;) {
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, g->diag, &flag, &st);
    if (!flag) return;
    int n = 0;
    MPI_Get_count(&st, MPI_BYTE, &n);
    std::vector<char> buf(size_t(std::max(n, 1)));
    MPI_Recv(buf.data(), n, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, g->diag, MPI_STATUS_IGNORE);
    if (st.MPI_TAG == kAsk) {  // the asker is alive and small messages go eagerly: no wait
      const Status reply = my_status();
      MPI_Send(&reply, sizeof reply, MPI_BYTE, st.MPI_SOURCE, kReply, g->diag);
    } else if (st.MPI_TAG == kReply && n == int(sizeof(Status))) {
      Status s;
      std::memcpy(&s, buf.data(), sizeof s);
      g->replies[st.MPI_SOURCE] = s;
    } else if (st.MPI_TAG == kVerdict) {
      stop_job(std::string(buf.data(), size_t(n)));
    }
  }
}

// The sentence for this rank stuck in `me`: which ranks did not come, from their replies.
std::string verdict(const Status& me, int* printer) {
  std::vector<int> silent, busy, elsewhere;
  *printer = g->rank;
  for (int r = 0; r < g->size; ++r) {
    if (r == g->rank) continue;
    auto it = g->replies.find(r);
    if (it == g->replies.end()) silent.push_back(r);
    else if (!it->second.inside) busy.push_back(r);
    else if (it->second.seq != me.seq) elsewhere.push_back(r);
    else *printer = std::min(*printer, r);
  }
  auto list = [](const std::vector<int>& rs) {
    std::string s;
    for (size_t i = 0; i < rs.size(); ++i) s += (i ? (i + 1 == rs.size() ? " and " : ", ") : "") + who(rs[i]);
    return s;
  };
  const std::string where = detail::cat(me.what, " (collective ", me.seq, ")");
  const double t = g->timeout.load();
  if (!silent.empty())
    return detail::cat("Stopping the job: ", list(silent), silent.size() > 1 ? " have" : " has",
                       " not joined ", where, " within ", t, " s and ", silent.size() > 1 ? "do" : "does",
                       " not answer (stopped, hung or unreachable).");
  if (!busy.empty()) {
    const Status& b = g->replies[busy[0]];
    return detail::cat("Stopping the job: ", list(busy), busy.size() > 1 ? " have" : " has", " not joined ", where,
                       " within ", t, " s: ", busy.size() > 1 ? "they are" : "it is",
                       " still working outside any collective (", int(b.age), " s since ", b.what,
                       "); raise --rank-timeout if that work is legitimate.");
  }
  if (!elsewhere.empty()) {
    const Status& e = g->replies[elsewhere[0]];
    return detail::cat("Stopping the job: the ranks disagree on the collective: ", who(g->rank), " waits in ", where,
                       " but ", who(elsewhere[0]), " waits in ", e.what, " (collective ", e.seq, ").");
  }
  return "";  // everyone is here: the collective is merely slow
}

void diagnose() {
  static Status me;  // the question's buffer: a silent rank may never take it, so it stays
  me = my_status();
  g->replies.clear();
  for (int r = 0; r < g->size; ++r) {
    if (r == g->rank) continue;
    MPI_Request req;
    MPI_Isend(&me, sizeof me, MPI_BYTE, r, kAsk, g->diag, &req);
    MPI_Request_free(&req);
  }
  const double grace = std::clamp(g->timeout.load() / 4, 1.0, 5.0), t0 = now();
  while (now() - t0 < grace && int(g->replies.size()) < g->size - 1) {
    serve();
    const Status again = my_status();
    if (again.seq != me.seq || !again.inside) return;  // it completed meanwhile
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  int printer = g->rank;
  const std::string sentence = verdict(me, &printer);
  if (sentence.empty()) {  // slow, not stuck: look again after another timeout
    g->since = now();
    return;
  }
  if (printer != g->rank) {
    MPI_Request req;
    MPI_Isend(sentence.data(), int(sentence.size()), MPI_BYTE, printer, kVerdict, g->diag, &req);
    MPI_Request_free(&req);
    const double t1 = now();
    while (now() - t1 < 5) serve(), std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop_job(sentence);
}

void poll_gpu() {
  if constexpr (kCudaBuilt) {
    std::lock_guard<std::mutex> lk(g->mu);
    while (!g->gpu.empty() && nccl::event_done(g->gpu.front().event)) {
      destroy_event(g->gpu.front().event);
      g->gpu.pop_front();
    }
  }
}

void loop() {
  if constexpr (kCudaBuilt)
    if (g->gpu_index >= 0) nccl::select_gpu(g->gpu_index);
  for (;;) {
    {
      std::unique_lock<std::mutex> lk(g->mu);
      g->cv.wait_for(lk, std::chrono::milliseconds(50), [] { return g->stop; });
      if (g->stop) return;
    }
    if constexpr (kCudaBuilt)
      if (g->gpu_index >= 0) poll_gpu();
    if (g->talk) serve();
    const Status s = my_status();
    if (!s.inside || s.age < g->timeout.load()) continue;
    if (!g->talk)
      stop_job(detail::cat("Stopping the job: ", who(g->rank), " waited ", int(s.age), " s in ", s.what,
                           " (collective ", s.seq, ") for a rank that did not come (this MPI cannot say which)."));
    diagnose();
  }
}

}  // namespace

void start(int rank, const std::vector<std::string>& hosts, const std::vector<long>& pids, double timeout_s,
           bool talk) {
  CG_CHECK(!g, "watchdog::start called twice");
  g = new State;
  g->rank = rank;
  g->size = int(hosts.size());
  g->hosts = hosts;
  g->pids = pids;
  g->timeout = timeout_s;
  g->talk = talk;
  g->since = now();
  MPI_Comm_dup(MPI_COMM_WORLD, &g->diag);
  g->thread = std::thread(loop);
}

void stop() {
  if (!g) return;
  {
    std::lock_guard<std::mutex> lk(g->mu);
    g->stop = true;
  }
  g->cv.notify_all();
  if (g->thread.joinable()) g->thread.join();
  for (auto& p : g->gpu) destroy_event(p.event);
  g->gpu.clear();
  MPI_Comm_free(&g->diag);
  delete g;
  g = nullptr;
}

void set_timeout(double seconds) {
  if (g) g->timeout = seconds;
}

void set_gpu(int gpu, void* nccl_comm) {
  if (!g) return;
  std::lock_guard<std::mutex> lk(g->mu);
  g->gpu_index = gpu;
  g->nccl_comm = nccl_comm;
}

void enter(const char* what) {
  if (!g) return;
  g->what = what;
  g->since = now();
  g->seq.fetch_add(1);
  g->inside = true;
}

void leave() {
  if (!g) return;
  g->since = now();
  g->inside = false;
}

void gpu_op(void* event, const char* what) {
  if (!g) return destroy_event(event);
  const uint64_t seq = g->seq.fetch_add(1) + 1;
  std::lock_guard<std::mutex> lk(g->mu);
  g->gpu.push_back({event, what, seq, now()});
}

#else  // no MPI: nothing to watch

void start(int, const std::vector<std::string>&, const std::vector<long>&, double, bool) {}
void stop() {}
void set_timeout(double) {}
void set_gpu(int, void*) {}
void enter(const char*) {}
void leave() {}
void gpu_op(void*, const char*) {}

#endif

}  // namespace cg::watchdog
