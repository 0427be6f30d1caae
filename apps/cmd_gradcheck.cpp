// `covergan gradcheck [OP...]`: every op's backward against central finite differences
// (layers/gradcheck_ops: the list the tests run), one report per check, exit 1 on a failure.
#include <cstdio>

#include "apps/commands.h"
#include "base/check.h"
#include "layers/gradcheck_ops.h"

namespace covergan {
namespace {

struct Settings {
  std::vector<std::string> ops;
  std::string device = "cpu", dtype;
  uint64_t seed = 1;
  bool list = false;
} s;

void add_options(CLI::App& app) {
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("OP", s.ops, "Ops to check (default: all; --list shows them)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--device", s.device, "cpu or cuda (default cpu)")->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--dtype", s.dtype,
                 "f64 (default on the cpu: tight tolerances) or f32 (the training precision; the default on cuda)")
      ->check(CLI::IsMember({"f64", "f32"}));
  app.add_option("--seed", s.seed, "Seed of the random inputs (default 1)");
  app.add_flag("--list", s.list, "List the checks (op and setting) and exit");
}

int run_gradcheck() {
  const std::vector<cg::OpGradcheck> ops = cg::select_gradcheck_ops(s.ops);
  if (s.list) {
    for (const auto& e : ops) std::printf("%-18s %s\n", e.op.c_str(), e.setting.c_str());
    return 0;
  }
  cg::GradcheckTarget t;
  t.device = cg::resolve_device(s.device);
  const std::string dtype = !s.dtype.empty() ? s.dtype : t.device == cg::Device::cuda ? "f32" : "f64";
  t.dtype = dtype == "f64" ? cg::DType::f64 : cg::DType::f32;
  CG_USER_CHECK(!(t.device == cg::Device::cuda && t.dtype == cg::DType::f64),
                "The CUDA kernels compute in float only: pass --dtype f32 (the default with --device cuda).");
  std::printf("covergan gradcheck: %zu checks in %s on %s, seed %llu; per input its worst element "
              "(relative error |a-n| / max(|a|, |n|, %s max|a|))\n\n",
              ops.size(), dtype.c_str(), cg::device_name(t.device), static_cast<unsigned long long>(s.seed), t.dtype == cg::DType::f64 ? "1e-3" : "1e-2");
  return cg::run_gradchecks(ops, t, s.seed, stdout) == 0 ? 0 : 1;
}

Registrar reg({"gradcheck",
               "Check every op's backward against finite differences (or the named ops), as the tests do",
               add_options, run_gradcheck});

}  // namespace
}  // namespace covergan
