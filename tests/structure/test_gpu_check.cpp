// scripts/gpu-check's own logic, rehearsed without a GPU on stand-in binaries (small
// shell scripts that list cases, skip, fail and print benchmark JSON): the steps' order,
// only the CUDA cases of test_gan, a failed case's output in failures.txt, the budget,
// and never more files in $OUT than the GPU machine's call returns (8).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "support/paths.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;

namespace {

void script(const fs::path& p, const std::string& body) {
  std::ofstream(p) << "#!/bin/sh\n" << body;
  fs::permissions(p, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
}

// A build folder of stand-ins: test_cuda lists the smoke case, one that skips for want of
// a GPU and one that fails; test_gan a CUDA case and a CPU one; bench_iteration prints a
// median of 12.5 ms.
std::string stand_ins(const fs::path& dir) {
  fs::create_directories(dir);
  const std::string list_head = "echo '[doctest] listing all test case names'; echo '==============='; ";
  script(dir / "test_cuda",
         "case \"$1\" in\n"
         "  --list-test-cases) " + list_head +
             "echo 'cuda ops match the CPU: every row of the op table'; echo 'cuda skips'; echo 'cuda fails'; "
             "echo '==============='; exit 0 ;;\n"
         "  *'fails') echo 'planted failure: rel_l2 1e+00'; exit 1 ;;\n"
         "  *) echo \"[skipped] ${1#--test-case=}: no CUDA GPU on this machine\"; exit 77 ;;\n"
         "esac\n");
  script(dir / "test_gan",
         "case \"$1\" in\n"
         "  --list-test-cases) " + list_head + "echo 'CUDA: a GPU case'; echo 'a CPU case'; exit 0 ;;\n"
         "  *'a CPU case') echo 'the CPU case must not run here'; exit 1 ;;\n"
         "  *) echo \"[skipped] ${1#--test-case=}: no CUDA GPU on this machine\"; exit 77 ;;\n"
         "esac\n");
  script(dir / "bench_iteration",
         "echo '{\"context\": {}, \"benchmarks\": [{\"name\": \"iteration/cpu_median\", \"aggregate_name\": "
         "\"median\", \"real_time\": 12.5, \"time_unit\": \"ms\", \"images/s\": 640, \"FLOP/s\": 1e9}]}'\n");
  script(dir / "bench_layers", "echo '{\"benchmarks\": []}'\n");
  script(dir / "covergan", "exit 0\n");
  return dir.string();
}

// A python3 first on PATH that answers the imports gpu-check asks for at once (a real
// torch import takes tens of seconds on a loaded machine) and runs anything else with
// the python3 found before it.
std::string fake_python(const fs::path& dir) {
  const auto real = cgtest::run_shell("command -v python3");
  fs::create_directories(dir);
  script(dir / "python3", "case \"$2\" in *torch*) echo 'torch (a stand-in)'; exit 0 ;; esac\nexec " +
                              cgtest::shell_quote(real.output.substr(0, real.output.find('\n'))) + " \"$@\"\n");
  return dir.string();
}

struct Run {
  int exit_code;
  std::string summary;
  std::set<std::string> files;
};

Run gpu_check(const cgtest::TempDir& tmp, const std::string& env) {
  const fs::path out = tmp.path() / "out";
  const auto r = cgtest::run_shell(
      "COVERGAN_BUILD_DIR=" + cgtest::shell_quote(stand_ins(tmp.path() / "build")) +
      " OUT=" + cgtest::shell_quote(out.string()) + " PATH=" + cgtest::shell_quote(fake_python(tmp.path() / "bin")) +
      ":\"$PATH\" COVERGAN_PYTHON= PYTHON= COVERGAN_GPU_CHECK_SKIP='compare memcheck' " + env + " " +
      cgtest::shell_quote(cgtest::source_dir() + "/scripts/gpu-check") + " --dry-run 2>&1");
  Run run{r.exit_code, "", {}};
  std::ifstream in(out / "summary.txt");
  std::stringstream ss;
  ss << in.rdbuf();
  run.summary = ss.str();
  for (const auto& e : fs::directory_iterator(out)) run.files.insert(e.path().filename().string());
  return run;
}

std::string last_line(const std::string& s) {
  std::istringstream in(s);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last;
}

}  // namespace

TEST_CASE("gpu-check --dry-run: steps in order, only CUDA cases, a failure kept, at most five files in $OUT") {
  cgtest::TempDir tmp("gpu_check");
  const Run r = gpu_check(tmp, "");
  INFO(r.summary);
  CHECK(r.exit_code == 1);
  CHECK(last_line(r.summary).rfind("RESULT: FAIL: 1 case(s) of test_cuda failed", 0) == 0);
  const size_t smoke = r.summary.find("smoke: skipped: no CUDA GPU"), suites = r.summary.find("suites: test_cuda: FAIL"),
               gan = r.summary.find("suites: test_gan: PASS-WITH-SKIPS: 1 cases"),
               iter = r.summary.find("iteration: fp32, graph: 12.50 ms"), layers = r.summary.find("layers: bench_layers OK");
  CHECK(smoke != std::string::npos);
  CHECK(suites > smoke);
  CHECK(gan != std::string::npos);
  CHECK(iter > suites);
  CHECK(layers > iter);
  CHECK(r.summary.find("FAILED: test_cuda: cuda fails (exit 1)") != std::string::npos);
  CHECK(r.summary.find("compare: not run: skipped") != std::string::npos);
  const std::set<std::string> allowed{"summary.txt", "iteration.md", "compare.md", "failures.txt", "details.tar.gz"};
  CHECK(std::includes(allowed.begin(), allowed.end(), r.files.begin(), r.files.end()));
  CHECK(r.files.count("details.tar.gz") == 1);
  std::ifstream f(tmp.path() / "out" / "failures.txt");
  std::stringstream fail;
  fail << f.rdbuf();
  CHECK(fail.str().find("planted failure") != std::string::npos);
  CHECK(fail.str().find("the CPU case must not run here") == std::string::npos);
}

TEST_CASE("gpu-check with its budget spent starts no step and says INCOMPLETE") {
  cgtest::TempDir tmp("gpu_check_budget");
  const Run r = gpu_check(tmp, "COVERGAN_GPU_CHECK_BUDGET=12");
  INFO(r.summary);
  CHECK(r.exit_code == 2);
  for (const char* step : {"smoke", "suites", "layers"})
    CHECK(r.summary.find(std::string(step) + ": not run") != std::string::npos);
  CHECK(r.summary.find("iteration fp32 graph: not run: the 12 s budget was spent") != std::string::npos);
  CHECK(last_line(r.summary).rfind("RESULT: INCOMPLETE: nothing failed", 0) == 0);
  CHECK(r.files.size() <= 8);
}
