// `covergan eval`: the paper's evaluation of a checkpoint and more (MS-SSIM per
// genre, D's and an independent baseline's genre accuracy on real and generated
// covers, the genre sweep, curves) into REPORT_DIR/report.html and report.json.
#include <cstdio>

#include "apps/commands.h"
#include "eval/eval_run.h"
#include "gan/config.h"

namespace covergan {
namespace {

cg::gan::EvalOptions s;
std::string precision = "auto";

void add_options(CLI::App& app) {
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--ckpt", s.ckpt, "A checkpoint, or a run folder (its newest checkpoint)")->required();
  app.add_option("--data", s.data, "The labeled set (.cgd); a set the run did not train on gives held-out numbers")
      ->required();
  app.add_option("-o,--out", s.out, "The report folder (report.html, report.json, pictures)")->required();
  app.add_option("--pairs", s.pairs, "MS-SSIM pairs per genre and kind (default 1000)")->check(CLI::Range(1, 10000000));
  app.add_option("--generated", s.generated, "Generated covers per genre (default 200)")->check(CLI::Range(2, 1000000));
  app.add_option("--real-per-genre", s.real_per_genre, "Cap the real covers per genre in the MS-SSIM pool (0: all)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--folds", s.folds, "Folds for the baseline and the +- std (default 5)")->check(CLI::Range(2, 100));
  app.add_option("--classifier", s.classifier,
                 "A baseline from `covergan classify` (file or folder); without it one is cross-validated here");
  app.add_option("--classifier-epochs", s.classifier_epochs, "Epochs per fold of that baseline (default 4)")
      ->check(CLI::Range(1, 100000));
  app.add_option("--seed", s.seed, "Seed of the generated covers, the pairs and the folds");
  app.add_option("--device", s.device, "cpu, cuda or auto")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_option("--precision", precision, "CUDA arithmetic: fp32, tf32, bf16 or auto (tf32 on CUDA, fp32 on the CPU)")
      ->check(CLI::IsMember({"auto", "fp32", "tf32", "bf16"}));
  app.add_flag("-q,--quiet", s.quiet, "No progress lines");
}

int run_eval() {
  cg::gan::use_cuda_math(precision, false, cg::resolve_device(s.device, false), "");
  const auto r = cg::gan::run_eval(s);
  std::printf("covergan eval: report in %s/report.html\n", s.out.c_str());
  return r.is_object() ? 0 : 1;
}

Registrar reg({"eval", "Evaluate a checkpoint: MS-SSIM, genre accuracies, baseline classifier, report.html",
               add_options, run_eval});

}  // namespace
}  // namespace covergan
