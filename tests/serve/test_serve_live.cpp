// `covergan serve` beside a training that is writing the run: 50 requests at once of
// every kind while it trains (all answered, curves that only grow, no torn row, the
// training still advancing), and the server stopping cleanly on Ctrl-C (SIGINT) with
// exit code 0 and its port closed.
#include <doctest/doctest.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "gan/run_dir.h"
#include "serve_util.h"

namespace fs = std::filesystem;
using servetest::http;

namespace {

// Waits until cond() holds (true) or timeout_s passes (false).
template <class F>
bool wait_for(F cond, double timeout_s) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return cond();
}

int64_t metric_rows(int port) {
  const auto r = http(port, "/api/runs/live");
  return r.status == 200 ? nlohmann::json::parse(r.body)["rows"].get<int64_t>() : -1;
}

}  // namespace

TEST_CASE("serve: 50 concurrent requests while a training writes to the run") {
  servetest::TinyData data;
  const std::string run = data.dir / "live";
  // Long enough to outlast the test; stopped with Ctrl-C at the end. Not quiet, so the
  // trainer flushes metrics.csv every --log-every iterations.
  servetest::Process train(data.train_args(run, {"--steps", "1000000", "--epochs", "1000000", "--log-every", "5",
                                                 "--checkpoint-every", "25", "--sample-every", "25", "--keep", "2"}),
                           data.dir / "train.log");
  // Any checkpoint, not the first by name: the tiny model runs thousands of iterations a
  // second, and --keep 2 had removed step 25's before a poll saw it (3 tries in 20 under load).
  REQUIRE(wait_for([&] { return !cg::gan::RunDir(run).checkpoints().empty(); }, 120));
  servetest::ServeProcess srv({run}, data.dir / "serve.log");
  const int port = srv.port();
  REQUIRE(metric_rows(port) > 0);

  const std::vector<std::string> kinds = {"/api/runs",
                                          "/api/runs/live",
                                          "/api/runs/live/metrics",
                                          "/api/runs/live/metrics?from=3&stride=2",
                                          "/api/runs/live/cover.png?seed=",
                                          "/api/runs/live/sweep.png?seed=",
                                          "/files/live/config.json",
                                          "/files/live/metrics.csv",
                                          "/run/live",
                                          "/static/chart.min.js"};
  std::vector<servetest::Response> answers(50);
  std::vector<std::string> targets(50);
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    targets[size_t(i)] = kinds[size_t(i) % kinds.size()];
    if (targets[size_t(i)].back() == '=') targets[size_t(i)] += std::to_string(i);
    threads.emplace_back([&, i] { answers[size_t(i)] = http(port, targets[size_t(i)]); });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 50; ++i) {
    const auto& r = answers[size_t(i)];
    INFO(targets[size_t(i)] << " -> " << r.status << ": " << r.body.substr(0, 200));
    CHECK(r.status == 200);
    if (targets[size_t(i)].rfind("/api/runs/live/metrics", 0) == 0 && r.status == 200) {
      // Every row complete: each column as long as the steps, every number a number.
      const auto m = nlohmann::json::parse(r.body);
      const size_t n = m["columns"]["step"].size();
      CHECK(n > 0);
      for (const auto& [name, col] : m["columns"].items()) {
        CHECK(col.size() == n);
        for (const auto& v : col) CHECK((v.is_number() || (name == "phase" && v.is_string())));
      }
      CHECK(m["skipped"] == 0);
    }
    if (targets[size_t(i)].find(".png") != std::string::npos && r.status == 200)
      CHECK(servetest::decode(r.body).width > 0);
  }

  // The curves only grow while the training goes on, and it does go on.
  const int64_t before = metric_rows(port);
  CHECK(wait_for([&] { return metric_rows(port) > before; }, 60));

  srv.proc().signal(SIGINT);
  const int code = srv.proc().wait(20);
  CHECK(code == 0);
  CHECK(srv.proc().log().find("covergan serve: stopped (Ctrl-C)") != std::string::npos);
  CHECK_FALSE(servetest::port_open(port));
  train.signal(SIGINT);  // the trainer writes a checkpoint and stops
  CHECK(train.wait(120) != -1);
}

TEST_CASE("serve: Ctrl-C stops the server while requests are in flight") {
  const auto& run = servetest::shared_run();
  cgtest::TempDir dir("serve_stop");
  servetest::ServeProcess srv({run.root}, dir / "serve.log");
  const int port = srv.port();
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i)
    clients.emplace_back([&, i] {
      while (!stop) {
        const auto r = http(port, "/api/runs/run/cover.png?seed=" + std::to_string(i), {}, "GET", 10);
        if (r.status == 200) ++answered;
      }
    });
  // Until the first cover is answered (a busy CI machine, a sanitizer build: seconds), and
  // then a little longer so that requests are in flight.
  for (const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
       answered == 0 && std::chrono::steady_clock::now() < until;)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // Its OpenMP threads wait passively (it runs beside a training): it restarted itself so.
  const std::string env = servetest::slurp("/proc/" + std::to_string(srv.proc().pid()) + "/environ");
  if (std::getenv("OMP_WAIT_POLICY") == nullptr)  // a policy the user set is kept
    CHECK(env.find(std::string("OMP_WAIT_POLICY=passive\0", 24)) != std::string::npos);
  srv.proc().signal(SIGINT);
  const auto t0 = std::chrono::steady_clock::now();
  const int code = srv.proc().wait(20);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stop = true;
  for (auto& t : clients) t.join();
  CHECK(answered > 0);
  CHECK(code == 0);
  CHECK(took < 10);
  CHECK(srv.proc().log().find("stopped (Ctrl-C)") != std::string::npos);
  CHECK_FALSE(servetest::port_open(port));
}
