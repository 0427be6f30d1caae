// scripts/pick-checkpoint with an `eval --all-checkpoints` report: it prints the checkpoint
// the report names as best (what scripts/demo keeps), whatever order the rows come in, and
// a report without its "best" is one sentence and exit 2.
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "support/paths.h"
#include "support/temp_dir.h"

namespace {
cgtest::ShellResult pick(const std::string& report) {
  return cgtest::run_shell("python3 " + cgtest::shell_quote(cgtest::source_dir() + "/scripts/pick-checkpoint") + " " +
                           cgtest::shell_quote(report) + " 2>&1");
}
}  // namespace

TEST_CASE("pick-checkpoint keeps the best checkpoint an all-checkpoints report names") {
  cgtest::TempDir dir;
  const std::string path = dir / "report.json";
  std::ofstream(path) << R"({"all_checkpoints": true, "run": "r", "data": "d",
    "checkpoints": [{"step": 500, "path": "r/checkpoints/step_00000500.safetensors", "fid": 2.0},
                    {"step": 1000, "path": "r/checkpoints/step_00001000.safetensors", "fid": 1.5},
                    {"step": 1500, "path": "r/checkpoints/step_00001500.safetensors", "fid": null}],
    "best": {"by": "fid", "step": 1000, "path": "r/checkpoints/step_00001000.safetensors", "value": 1.5}})";
  const auto r = pick(path);
  CHECK(r.exit_code == 0);
  const std::string last = r.output.substr(r.output.rfind('\n', r.output.size() - 2) + 1);
  CHECK(last == "r/checkpoints/step_00001000.safetensors\n");
  CHECK(r.output.find("step 1000: fid 1.5000  <- best") != std::string::npos);
  CHECK(r.output.find("step 1500: fid n/a") != std::string::npos);
  // --best-within 2 kept a later checkpoint than the lowest: both are marked.
  std::ofstream(dir / "within.json") << R"({"all_checkpoints": true, "run": "r", "data": "d",
    "checkpoints": [{"step": 500, "path": "r/a", "fid": 1.276}, {"step": 1000, "path": "r/b", "fid": 1.2816}],
    "best": {"by": "fid", "step": 1000, "path": "r/b", "value": 1.2816, "within_percent": 2,
             "lowest_step": 500, "lowest_value": 1.276}})";
  const auto w = pick(dir / "within.json");
  CHECK(w.exit_code == 0);
  CHECK(w.output.find("step 500: fid 1.2760  <- lowest (best: the latest within 2 % of it)") != std::string::npos);
  CHECK(w.output.find("step 1000: fid 1.2816  <- best") != std::string::npos);
  CHECK(w.output.substr(w.output.rfind('\n', w.output.size() - 2) + 1) == "r/b\n");
  std::ofstream(dir / "bad.json") << R"({"all_checkpoints": true, "checkpoints": []})";
  const auto b = pick(dir / "bad.json");
  CHECK(b.exit_code == 2);
  CHECK(b.output.find("pick-checkpoint:") != std::string::npos);
}
