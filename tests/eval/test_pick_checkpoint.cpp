// scripts/pick-checkpoint, the demo's choice among its last checkpoints: on hand-made
// report.json files, the smallest worst-genre MS-SSIM excess wins among checkpoints the
// baseline recognises at 80 % or more, ties go to the later one, and a bad report is one
// sentence and exit 2. Runs the script with the python3 on PATH (it needs only the stdlib).
#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

#include "support/paths.h"
#include "support/temp_dir.h"

namespace {

struct Genre {
  double real_real, gen_gen;
};

// A report.json as `covergan eval` writes it, reduced to what the script reads.
std::string write_report(const cgtest::TempDir& dir, const std::string& step, double accuracy,
                         const std::vector<Genre>& genres) {
  std::string per;
  for (const Genre& g : genres)
    per += std::string(per.empty() ? "" : ",") + R"({"genre": "g", "real_real": {"mean": )" +
           std::to_string(g.real_real) + R"(}, "generated_generated": {"mean": )" + std::to_string(g.gen_gen) + "}}";
  const std::string path = dir / ("report_" + step + ".json");
  std::ofstream(path) << R"({"checkpoint": {"path": "run/checkpoints/step_)" << step
                      << R"(.safetensors"}, "baseline": {"generated": {"accuracy": {"mean": )" << accuracy
                      << R"(}}}, "msssim": {"per_genre": [)" << per << "]}}";
  return path;
}

struct Out {
  int rc;
  std::string stdout_text;
};

Out pick(const std::vector<std::string>& reports) {
  std::string cmd = std::string("python3 ").append(cgtest::shell_quote(cgtest::source_dir() + "/scripts/pick-checkpoint"));
  for (const auto& r : reports) cmd.append(" ").append(cgtest::shell_quote(r));
  const auto r = cgtest::run_shell(cmd + " 2>/dev/null");
  REQUIRE(r.exit_code != -1);  // it started
  return {r.exit_code, r.output};
}

}  // namespace

TEST_CASE("pick-checkpoint keeps the checkpoint whose worst genre is furthest below its MS-SSIM limit") {
  cgtest::TempDir dir;
  // Limits are real-real + 0.1. Step 2000: worst +0.05 over; 2500: worst -0.02; 3000: worst -0.01.
  const auto a = write_report(dir, "00002000", 0.99, {{0.3, 0.45}, {0.1, 0.1}});
  const auto b = write_report(dir, "00002500", 0.95, {{0.3, 0.38}, {0.1, 0.15}});
  const auto c = write_report(dir, "00003000", 0.99, {{0.3, 0.39}, {0.1, 0.12}});
  const Out o = pick({a, b, c});
  CHECK(o.rc == 0);
  CHECK(o.stdout_text == "run/checkpoints/step_00002500.safetensors\n");
}

TEST_CASE("pick-checkpoint passes over checkpoints the baseline does not recognise, and ties go to the later") {
  cgtest::TempDir dir;
  const auto diverse = write_report(dir, "00002000", 0.70, {{0.3, 0.2}});  // most diverse, genre lost
  const auto early = write_report(dir, "00002500", 0.90, {{0.3, 0.35}});
  const auto late = write_report(dir, "00003000", 0.95, {{0.3, 0.35}});  // same excess: the later wins
  CHECK(pick({diverse, early, late}).stdout_text == "run/checkpoints/step_00003000.safetensors\n");
  // When no checkpoint reaches 80 %, the most diverse of all is kept.
  const auto weak = write_report(dir, "00003500", 0.60, {{0.3, 0.5}});
  CHECK(pick({diverse, weak}).stdout_text == "run/checkpoints/step_00002000.safetensors\n");
}

TEST_CASE("pick-checkpoint refuses a report it cannot read with exit 2") {
  cgtest::TempDir dir;
  std::ofstream(dir / "bad.json") << R"({"msssim": {}})";
  const Out o = pick({dir / "bad.json"});
  CHECK(o.rc == 2);
  CHECK(o.stdout_text.empty());
  CHECK(pick({dir / "missing.json"}).rc == 2);
  CHECK(pick({}).rc == 2);
}
