// scripts/bench-compare's guard against a busy machine: it prints the load average, and
// with --strict refuses to measure when the 1-minute load is above half the CPUs (the
// load comes from COVERGAN_LOADAVG here, a file in /proc/loadavg's format).
#include <fstream>
#include <string>

#include "support/check.h"
#include "support/paths.h"
#include "support/temp_dir.h"

namespace {

cgtest::ShellResult bench_compare(const std::string& loadavg, const std::string& args, const cgtest::TempDir& dir) {
  const std::string la = (dir.path() / "loadavg").string();
  std::ofstream(la) << loadavg << " 2/300 4242\n";
  return cgtest::run_shell("COVERGAN_LOADAVG=" + cgtest::shell_quote(la) + " OUT=" +
                           cgtest::shell_quote((dir.path() / "out").string()) + " " +
                           cgtest::shell_quote(cgtest::source_dir() + "/scripts/bench-compare") + " " + args + " 2>&1");
}

}  // namespace

TEST_CASE("bench-compare --strict refuses a busy machine in one sentence and measures on a quiet one") {
  cgtest::TempDir dir("bench_compare");
  const std::string missing = (dir.path() / "no-build").string();
  const auto busy = bench_compare("64.00 60.00 50.00", "--strict --build " + missing, dir);
  INFO(busy.output);
  CHECK(busy.exit_code == 3);
  CHECK(busy.output.find("load average 64.00 60.00 50.00") != std::string::npos);
  CHECK(busy.output.find("--strict refuses to measure here") != std::string::npos);
  // Quiet: past the guard, to the next check (no benchmark binary in that folder).
  const auto quiet = bench_compare("0.00 0.01 0.05", "--strict --build " + missing, dir);
  INFO(quiet.output);
  CHECK(quiet.exit_code == 2);
  CHECK(quiet.output.find("bench_iteration is missing") != std::string::npos);
  CHECK(quiet.output.find("busy") == std::string::npos);
  // Busy without --strict: a warning, then on to the run.
  const auto warned = bench_compare("64.00 60.00 50.00", "--build " + missing, dir);
  CHECK(warned.exit_code == 2);
  CHECK(warned.output.find("busy: times will include waiting for the CPU") != std::string::npos);
}
