// The watchdog of a distributed run (engine/comm.cpp's helper; engine/comm_watchdog.cpp):
// a thread that sees a collective wait longer than the timeout, asks every rank over MPI
// where it is, and stops the job with one sentence naming the rank that did not come.
#pragma once
#include <string>
#include <vector>

namespace cg::watchdog {

// After MPI_Init: hosts and pids of every rank, for the sentence. talk: MPI allows a
// second thread to call it (MPI_THREAD_MULTIPLE); without it the watchdog still stops
// the job but cannot ask the others who is missing.
void start(int rank, const std::vector<std::string>& hosts, const std::vector<long>& pids, double timeout_s,
           bool talk);
void stop();
void set_timeout(double seconds);
// The GPU and NCCL communicator whose queued all-reduces are watched (gpu_op).
void set_gpu(int gpu, void* nccl_comm);

// A blocking collective (MPI on the host) begins and ends on the main thread.
void enter(const char* what);
void leave();
// An NCCL all-reduce was queued; event completes with it (owned by the watchdog now).
void gpu_op(void* event, const char* what);

struct Blocking {
  explicit Blocking(const char* what) { enter(what); }
  ~Blocking() { leave(); }
  Blocking(const Blocking&) = delete;
  Blocking& operator=(const Blocking&) = delete;
};

}  // namespace cg::watchdog
