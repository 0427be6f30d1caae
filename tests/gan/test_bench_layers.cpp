// bench_layers times the passes the model runs and counts their work: a linear layer's
// backward reports its FLOPs (the record and its kernel share a row), and G.fc's backward
// is the weight gradient alone, since the model never asks for the latent's gradient.
#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "support/check.h"
#include "support/paths.h"
#include "support/skip.h"

TEST_CASE("bench_layers: a linear backward counts its FLOPs, G.fc's the weight gradient's alone") {
  const std::string bench = cgtest::binary_dir() + "/bench_layers";
  if (!std::filesystem::exists(bench)) CG_SKIP("bench_layers is not built here (no Google Benchmark)");
  const auto r = cgtest::run_shell(cgtest::shell_quote(bench) +
                                   " --size 16 --base 8 --batch 4 --benchmark_filter='^(G.fc|D.heads)/cpu/' "
                                   "--benchmark_min_time=0.01 --benchmark_format=json 2>/dev/null");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json j = nlohmann::json::parse(r.output);
  std::map<std::string, double> flops;  // per call: the rate times the time of one call
  for (const auto& b : j["benchmarks"]) {
    REQUIRE(b["time_unit"] == "ms");
    const std::string name = b["name"].get<std::string>();
    flops[name.substr(0, name.find("/manual_time"))] = b["FLOP/s"].get<double>() * b["real_time"].get<double>() * 1e-3;
  }
  REQUIRE(flops.size() == 4);
  // 16x16 at base 8: c0 = 16 channels at 4x4, so G.fc maps z = 100 to 256 outputs and
  // D.heads 256 features to 1 + 5 genres + 2 codes.
  const double gfc = 2.0 * 4 * 100 * 256, heads = 2.0 * 4 * 256 * 8;
  CHECK(flops["G.fc/cpu/16x16/B4/fwd"] == doctest::Approx(gfc).epsilon(1e-9));
  CHECK(flops["G.fc/cpu/16x16/B4/bwd"] == doctest::Approx(gfc).epsilon(1e-9));  // the weight's alone
  CHECK(flops["D.heads/cpu/16x16/B4/fwd"] == doctest::Approx(heads).epsilon(1e-9));
  CHECK(flops["D.heads/cpu/16x16/B4/bwd"] == doctest::Approx(2 * heads).epsilon(1e-9));  // input's and weight's
}
