// bench_iteration --contend: alone and beside a busy process it starts and stops itself,
// round by round, with the pool's figures per round (the helpers' share of the chunks, the
// caller's waits, the helpers it moved) in the table and in the JSON.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "support/check.h"
#include "support/paths.h"
#include "support/skip.h"
#include "support/temp_dir.h"

TEST_CASE("bench_iteration --contend writes each round's times and pool figures, the table names them") {
  const std::string bench = cgtest::binary_dir() + "/bench_iteration";
  if (!std::filesystem::exists(bench)) CG_SKIP("bench_iteration is not built here (no Google Benchmark)");
  cgtest::TempDir dir("bench_contend");
  const std::string json = (dir.path() / "contend.json").string();
  const auto r = cgtest::run_shell(cgtest::shell_quote(bench) + " --size 16 --base 8 --batch 4 --contend 1 --rounds 2 "
                                   "--seconds 0.2 --contend-out " + cgtest::shell_quote(json) + " 2>&1");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("helpers  waits ms  moves") != std::string::npos);
  CHECK(r.output.find("slowdown") != std::string::npos);
  std::ifstream f(json);
  const nlohmann::json j = nlohmann::json::parse(f);
  CHECK(j["competitors"] == 1);
  CHECK(j["rounds"] == 2);
  CHECK(j["context"].contains("cpu_threads"));
  for (const char* key : {"alone_rounds_ms", "contended_rounds_ms", "helper_share_rounds",
                          "wait_ms_per_iteration_rounds", "moves_per_iteration_rounds"}) {
    INFO(key);
    REQUIRE(j[key].size() == 2);
    for (const auto& v : j[key]) CHECK(v.get<double>() >= 0);
  }
  for (const auto& v : j["helper_share_rounds"]) CHECK(v.get<double>() <= 1);
  for (const auto& v : j["alone_rounds_ms"]) CHECK(v.get<double>() > 0);
  CHECK(j["slowdown"].get<double>() > 0);
}
