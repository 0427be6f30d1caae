// scripts/bench-compare's guard against a busy machine: it prints the load average, and
// with --strict refuses to measure when the 1-minute load is above half the CPUs (the
// load comes from COVERGAN_LOADAVG here, a file in /proc/loadavg's format). And its CPU
// peer, bench/peers/acgan_torch.py bench, timed at its best thread count and OpenMP setting.
#include <sched.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "support/check.h"
#include "support/paths.h"
#include "support/skip.h"
#include "support/temp_dir.h"

namespace {

cgtest::ShellResult bench_compare(const std::string& loadavg, const std::string& args, const cgtest::TempDir& dir) {
  const std::string la = (dir.path() / "loadavg").string();
  std::ofstream(la) << loadavg << " 2/300 4242\n";
  return cgtest::run_shell("COVERGAN_LOADAVG=" + cgtest::shell_quote(la) + " OUT=" +
                           cgtest::shell_quote((dir.path() / "out").string()) + " " +
                           cgtest::shell_quote(cgtest::source_dir() + "/scripts/bench-compare") + " " + args + " 2>&1");
}

// The JSON a PyTorch peer (bench/peers/SCRIPT) prints when run with ARGS by the python
// that has torch; the run must succeed.
nlohmann::json run_peer(const std::string& python, const std::string& script, const std::string& args) {
  const auto r = cgtest::run_shell(cgtest::shell_quote(python) + " " +
                                   cgtest::shell_quote(cgtest::source_dir() + "/bench/peers/" + script) + " " + args);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.output.substr(r.output.find('{')));
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

TEST_CASE("the CPU PyTorch peer tries each thread count under each OpenMP setting and keeps the fastest") {
  const cgtest::Python& py = cgtest::python_with_torch();
  if (py.path.empty() && cgtest::torch_optional()) CG_SKIP(py.reason);
  REQUIRE_MESSAGE(!py.path.empty(), py.reason);
  const auto j =
      run_peer(py.path, "acgan_torch.py", "bench --device cpu --size 32 --base 8 --batch 4 --iters 1 --warmup 0 --stages");
  cpu_set_t mask;
  REQUIRE(sched_getaffinity(0, sizeof mask, &mask) == 0);
  const int cpus = CPU_COUNT(&mask);
  // Every thread count under libgomp's defaults; with two CPUs or more, two threads or more
  // under each other setting too (each in a process of its own; one thread never waits).
  std::set<std::pair<int, std::string>> want;
  for (int n = 1; n <= cpus; ++n) want.insert({n, "default"});
  if (cpus > 1) {
    REQUIRE(j["omp_settings"].size() >= 2);
    for (const auto& [name, env] : j["omp_settings"].items())
      for (int n = 2; n <= cpus && name != "default"; ++n) want.insert({n, name});
  }
  CHECK(!j.contains("omp_errors"));
  // The peer names its own build (ATen's CPU kernels, BLAS, oneDNN): it sets the peer's speed.
  REQUIRE(j["torch_build"].is_object());
  CHECK(j["torch_build"].contains("cpu_capability"));
  CHECK(j["torch_build"].contains("blas"));
  const auto& tried = j["modes"]["eager"]["tried"];
  std::set<std::pair<int, std::string>> got;
  double fastest = 1e300;
  for (const auto& t : tried) {
    got.insert({t["threads"].get<int>(), t["omp"].get<std::string>()});
    CHECK(t["ms_per_iter"].get<double>() > 0);
    fastest = std::min(fastest, t["ms_per_iter"].get<double>());
  }
  CHECK(got == want);
  // The result is the fastest configuration, named as such.
  CHECK(j["ms_per_iter"].get<double>() == fastest);
  bool named = false;
  for (const auto& t : tried)
    named = named || (t["ms_per_iter"].get<double>() == fastest && t["threads"] == j["threads"] && t["omp"] == j["omp"]);
  CHECK(named);
}

TEST_CASE("the per-layer PyTorch peer times each op's forward and its backward alone, both measured, differentiating what bench_layers does") {
  const cgtest::Python& py = cgtest::python_with_torch();
  if (py.path.empty() && cgtest::torch_optional()) CG_SKIP(py.reason);
  REQUIRE_MESSAGE(!py.path.empty(), py.reason);
  // Batch norm: the op whose backward the old (fwd+bwd) - fwd estimate could not resolve.
  const auto j = run_peer(py.path, "bench_torch.py",
                          "--size 32 --base 8 --batch 4 --filter 'G.fc|G.bn1|D.conv2' --min-time 0.01 --threads 1 "
                          "--omp passive-bound");
  CHECK(j["threads"] == 1);
  CHECK(j["omp"] == "passive-bound");  // the setting's name, for the record
  std::set<std::string> names;
  for (const auto& b : j["benchmarks"]) {
    names.insert(b["name"].get<std::string>());
    CHECK(b["seconds"].get<double>() > 1e-7);  // a real time, not the old floor of 1e-9
  }
  CHECK(names == std::set<std::string>{"G.fc/cpu/32x32/B4/fwd", "G.fc/cpu/32x32/B4/bwd", "G.bn1/cpu/32x32/B4/fwd",
                                       "G.bn1/cpu/32x32/B4/bwd", "D.conv2/cpu/32x32/B4/fwd", "D.conv2/cpu/32x32/B4/bwd"});
  // The backward differentiates what bench_layers' does: G.fc's weight alone (the model
  // never needs the latent's gradient), the others their input and every parameter.
  std::map<std::string, int> grads;
  for (const auto& b : j["benchmarks"])
    if (b.contains("grads")) grads[b["name"].get<std::string>()] = b["grads"].get<int>();
  CHECK(grads == std::map<std::string, int>{
                     {"G.fc/cpu/32x32/B4/bwd", 1}, {"G.bn1/cpu/32x32/B4/bwd", 3}, {"D.conv2/cpu/32x32/B4/bwd", 2}});
}
