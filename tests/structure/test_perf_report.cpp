// scripts/perf_report_tables.py, perf-report's last step, on a folder of real outputs
// (tests/structure/perf-report-fixture: one run of scripts/perf-report, 2026-12-04): the
// tables it writes into docs/PERFORMANCE.md must read bench-compare's compare.json as
// bench-compare writes it today (one set of stages per precision).
#include <doctest/doctest.h>

#include <string>

#include "support/paths.h"

namespace {
// The tables of the fixture's run, as perf-report makes them: load average, then 1 when
// it measured with --allow-busy.
cgtest::ShellResult tables(const std::string& load, const std::string& allow_busy) {
  const std::string src = cgtest::source_dir();
  return cgtest::run_shell("python3 " + cgtest::shell_quote(src + "/scripts/perf_report_tables.py") + " " +
                           cgtest::shell_quote(src + "/tests/structure/perf-report-fixture") + " " +
                           cgtest::shell_quote(load) + " " + allow_busy + " 2>&1");
}
}  // namespace

TEST_CASE("perf-report's tables read today's bench-compare, contend and profile outputs") {
  const auto r = tables("0.41 0.41 0.26", "0");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  // The iteration rows: speedups from compare.json, the FMA share from peaks.json.
  CHECK(r.output.find("| 64x64, base 32, batch 64 | 188.3 | 340 | 217 | 47 % | 597.5 | **3.17x**") != std::string::npos);
  CHECK(r.output.find("| 64x64, base 128, batch 16 | 492.7 |") != std::string::npos);
  // PyTorch's best configuration in each round, where bench-compare recorded it (n/a before)
  CHECK(r.output.find("| 2 threads, OpenMP passive-bound; 1 thread, OpenMP default; 2 threads, OpenMP passive-bound |") !=
        std::string::npos);
  CHECK(r.output.find("| 0.97 / 1.61 | n/a |") != std::string::npos);
  CHECK(r.output.find("**6.20x**") != std::string::npos);
  // Contention rows and the profile's largest layer pass first.
  CHECK(r.output.find("| 64x64 base 32 batch 64 | 155.31 | 272.85 | **1.81x** | 1.50x | 1.50x | 20 % | 1.4 / 4.2 |") !=
        std::string::npos);  // the pool's figures: each the median of the rounds
  CHECK(r.output.find("| n/a | n/a |") != std::string::npos);  // 32x32's JSON predates them
  CHECK(r.output.find("| D.conv2 forward | (64,32,32,32) -> (64,64,16,16) | 10.57 |") != std::string::npos);
  CHECK(r.output.find("BUSY") == std::string::npos);
  // Measured with --allow-busy: the provenance line says so.
  const auto busy = tables("1.90 1.2 0.9", "1");
  CHECK(busy.exit_code == 0);
  CHECK(busy.output.find("BUSY: measured anyway with --allow-busy") != std::string::npos);
}
