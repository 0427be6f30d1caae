// `covergan serve RUN [RUN...]`: the live page over run folders (serve/). Ctrl-C or
// SIGTERM stops it cleanly: the handler notes the signal, a watcher thread asks the
// server to stop, and requests in flight finish first.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "apps/commands.h"
#include "base/check.h"
#include "serve/server.h"

namespace covergan {
namespace {

struct Settings {
  std::vector<std::string> runs;
  std::string bind = "127.0.0.1", device = "auto";
  int port = 8080;
  bool log = false;
} s;

void add_options(CLI::App& app) {
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("runs", s.runs, "Run folders (covergan train --out); the page overlays their curves")
      ->required()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--port", s.port, "Port to listen on (default 8080; 0 picks a free one)")->check(CLI::Range(0, 65535));
  app.add_option("--bind", s.bind,
                 "Address to listen on (default 127.0.0.1, this machine only; any other asks for the printed token)");
  app.add_option("--device", s.device, "Where the playground's generator runs: auto, cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_flag("--log", s.log, "Print one line per request");
}

std::atomic<int> g_stop_signal{0};
// Async-signal-safe: records which signal came (a thread acts on it); a second one
// ends the process at once, for a stop that hangs.
extern "C" void serve_on_stop_signal(int sig) {
  if (g_stop_signal.exchange(sig) != 0) ::_exit(128 + sig);
}

// The server always runs beside something (a training it watches), so its OpenMP
// threads wait passively between covers instead of spinning: measured on the 2-core
// machine under load, a paper-size cover took 122 ms and 40 ms of CPU with spinning
// threads, 47 ms and 16 ms without. OpenMP reads the policy once, before main, so
// when it is unset the command sets it and starts itself again (same pid, same
// arguments, read back from /proc/self/cmdline).
void wait_passively() {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  ::setenv("OMP_WAIT_POLICY", "passive", 1);
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> args;
  for (std::string a; std::getline(in, a, '\0');) args.push_back(a);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (args.size() >= 2) ::execv("/proc/self/exe", argv.data());
  // execv only returns on failure: serve on, with OpenMP's default waiting.
}

int run_serve() {
  wait_passively();
  // A handler rather than a blocked mask: threads that exist before main (OpenBLAS's
  // pool) would otherwise take the signal with its default action and kill the process
  // mid-answer. A shell that starts a job with & leaves SIGINT ignored; the server
  // still stops on it.
  struct sigaction sa {};
  sa.sa_handler = serve_on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // a browser that goes away mid-answer is not our end

  cg::serve::ServeOptions opt;
  opt.runs = s.runs;
  opt.bind = s.bind;
  opt.port = s.port;
  opt.device = s.device;
  opt.access_log = s.log;
  cg::serve::Server server(opt);

  std::string ids;
  for (const auto& id : server.run_ids()) ids += (ids.empty() ? "" : ", ") + id;
  std::printf("covergan serve: %zu run%s (%s)\n", s.runs.size(), s.runs.size() == 1 ? "" : "s", ids.c_str());
  if (server.needs_token())
    std::printf("  listening on %s:%d; every request needs the token, so open\n", s.bind.c_str(), server.port());
  std::printf("  %s\n  Ctrl-C stops the server\n", server.url().c_str());
  std::fflush(stdout);

  std::atomic<bool> finished{false};
  std::thread waiter([&] {
    while (!finished) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      // stop() only acts once the server listens: repeat until run() has returned.
      if (g_stop_signal.load() != 0) server.stop();
    }
  });
  server.run();
  finished = true;
  waiter.join();
  const int caught = g_stop_signal.load();
  std::printf("covergan serve: stopped%s\n", caught == SIGINT ? " (Ctrl-C)" : caught == SIGTERM ? " (SIGTERM)" : "");
  return 0;
}

Registrar reg({"serve",
               "A live page over run folders: curves as they train, samples, checkpoints, a generator playground",
               add_options, run_serve});

}  // namespace
}  // namespace covergan
