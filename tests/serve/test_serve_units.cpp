// The server's parts in-process: strict query parameters, the path rules, the
// metrics reader (a torn last row waits, a bad row is skipped, a replaced file is
// read afresh) and the playground's bounded queue.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "serve/files.h"
#include "serve/metrics_tail.h"
#include "serve/params.h"
#include "serve/playground.h"
#include "support/temp_dir.h"

using namespace cg::serve;

namespace {

int status_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const HttpError& e) {
    return e.status;
  }
  return 200;
}

void append(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::app) << text;
}

nlohmann::json slice(MetricsTail& t) { return nlohmann::json::parse(t.slice(0, 1, {})); }

}  // namespace

TEST_CASE("serve params: numbers, ranges, repeats and unknown names") {
  const QueryParams q{{"seed", "12"}, {"codes", "0.5,-1"}, {"x", "1e400"}, {"token", "t"}};
  const Params p(q, {"seed", "codes", "x"});
  CHECK(p.integer("seed", 0, 0, 100) == 12);
  CHECK(p.integer("absent", 7, 0, 100) == 7);
  CHECK(p.numbers("codes", -1, 1, 4) == std::vector<double>{0.5, -1});
  CHECK(status_of([&] { p.integer("seed", 0, 0, 10); }) == 400);
  CHECK(status_of([&] { p.number("x", 0, -1e300, 1e300); }) == 400);  // not finite
  CHECK(status_of([&] { p.numbers("codes", -0.5, 0.5, 4); }) == 400);
  CHECK(status_of([&] { Params(q, {"seed"}); }) == 400);               // codes unknown here
  CHECK(status_of([&] { Params({{"a", "1"}, {"a", "2"}}, {"a"}); }) == 400);
  try {
    Params(QueryParams{{"bogus", "1"}}, {"seed", "codes"});
    FAIL("an unknown parameter passed");
  } catch (const HttpError& e) {
    CHECK(std::string(e.what()) == "Unknown parameter \"bogus\"; this address takes seed, codes.");
  }
  int64_t v = 0;
  for (const char* bad : {"", " 1", "1 ", "0x10", "12abc", "99999999999999999999999"}) CHECK_FALSE(parse_int64(bad, v));
  CHECK(is_plain_name("run-1.b_2"));
  CHECK_FALSE(is_plain_name(".hidden"));
  CHECK_FALSE(is_plain_name("a/b"));
}

TEST_CASE("serve files: the path rules and the kinds served") {
  for (const char* ok : {"config.json", "samples/step_000100.png", "report/report.html", "a-b_c.d/e.txt"})
    CHECK(status_of([&] { check_relative_path(ok); }) == 200);
  for (const char* bad : {"", "/etc/passwd", "../x", "a/../b", "a/./b", "./a", "a//b", "a/", ".git/config",
                          "a\\..\\b", "a%2e", "a b", "a\nb", "caf\xc3\xa9.png"})
    CHECK(status_of([&] { check_relative_path(bad); }) == 400);
  CHECK(status_of([&] { check_relative_path(std::string(600, 'a')); }) == 400);
  CHECK(content_type_for("x.png") == "image/png");
  CHECK(content_type_for("report.html") == "text/html; charset=utf-8");
  CHECK(content_type_for("step_1.safetensors").empty());
  CHECK(content_type_for("metrics.csv.tmp").empty());
}

TEST_CASE("serve metrics: a torn last row waits, a bad row is skipped, a replaced file starts over") {
  cgtest::TempDir dir("serve_metrics");
  const std::string path = dir / "metrics.csv";
  MetricsTail t(path);
  CHECK(t.rows() == 0);  // no file yet
  append(path, "step,phase,d_loss\n1,finetune,0.5\n2,finetune,0.25\n3,fine");
  auto m = slice(t);
  CHECK(m["total"] == 2);
  CHECK(m["columns"]["step"] == nlohmann::json({1, 2}));
  CHECK(m["columns"]["phase"] == nlohmann::json({"finetune", "finetune"}));
  const auto version = m["version"];
  append(path, "tune,0.125\n4,finetune\n5,finetune,nan\n6,finetune,abc\n7,finetune,2");  // 4: a cell short; 6: not a number
  m = slice(t);
  CHECK(m["total"] == 4);
  CHECK(m["skipped"] == 2);
  CHECK(m["columns"]["step"] == nlohmann::json({1, 2, 3, 5}));
  CHECK(m["columns"]["d_loss"][3].is_null());  // NaN travels as null
  CHECK(t.last_row()["step"] == 5);
  append(path, "\n");
  CHECK(t.rows() == 5);
  CHECK(nlohmann::json::parse(t.slice(2, 2, {"step"}))["columns"] == nlohmann::json({{"step", {3, 7}}}));

  // --resume rewrites the file (a new inode, fewer rows): read afresh, new version.
  {
    std::ofstream(path + ".tmp") << "step,phase,d_loss\n1,finetune,0.5\n";
    std::filesystem::rename(path + ".tmp", path);
  }
  m = slice(t);
  CHECK(m["total"] == 1);
  CHECK(m["version"] != version);
  std::filesystem::remove(path);
  CHECK(t.rows() == 0);
}

TEST_CASE("serve playground: past its bound a request is turned away at once") {
  Playground pg(cg::Device::cpu, /*max_pending=*/2);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  auto busy = std::async(std::launch::async, [&] { pg.run_on_worker([gate] { gate.wait(); }); });
  while (pg.pending() < 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto queued = std::async(std::launch::async, [&] { pg.run_on_worker([] {}); });
  while (pg.pending() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto t0 = std::chrono::steady_clock::now();
  int status = 200;
  std::string msg;
  try {
    CoverJob job;
    job.checkpoint = "/nonexistent";
    pg.make(job);
  } catch (const HttpError& e) {
    status = e.status;
    msg = e.what();
  }
  CHECK(status == 503);
  CHECK(msg.find("busy") != std::string::npos);
  // Not after the others: they wait for the gate, which opens only below. A busy CI
  // machine may pause this thread, hence the generous bound.
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
  release.set_value();
  busy.get();
  queued.get();
  // The worker counts a request as done just after answering it, so the count may lag the
  // answer by a moment (seen once under ASan in CI): wait for it, at most ten seconds.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (pg.pending() != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(pg.pending() == 0);
  // A checkpoint that is gone: 404 with a sentence, and the worker lives on.
  CoverJob job;
  job.checkpoint = "/nonexistent/step_00000001.safetensors";
  CHECK(status_of([&] { pg.make(job); }) == 404);
}
