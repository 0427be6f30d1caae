// `covergan eval`: the paper's evaluation of a checkpoint and more (MS-SSIM per
// genre, D's and an independent baseline's genre accuracy on real and generated
// covers, the genre sweep, curves) into REPORT_DIR/report.html and report.json.
#include <cstdio>

#include "apps/commands.h"
#include "base/check.h"
#include "eval/eval_all.h"
#include "eval/eval_run.h"
#include "gan/config.h"

namespace covergan {
namespace {

cg::gan::EvalOptions s;
bool all_checkpoints = false, no_ema = false;
std::string bn = "batch";
std::string best_by = "fid";
double best_within = 0;

CLI::App* app_ = nullptr;
std::string precision = "auto";

void add_options(CLI::App& app) {
  app_ = &app;
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--ckpt", s.ckpt, "A checkpoint, or a run folder (its newest checkpoint)")->required();
  app.add_option("--data", s.data, "The labeled set (.cgd); a set the run did not train on gives held-out numbers")
      ->required();
  app.add_option("-o,--out", s.out, "The report folder (report.html, report.json, pictures)")->required();
  app.add_option("--pairs", s.pairs, "MS-SSIM pairs per genre and kind (default 1000)")->check(CLI::Range(1, 10000000));
  app.add_option("--generated", s.generated, "Generated covers per genre (default 200)")->check(CLI::Range(2, 1000000));
  app.add_option("--real-per-genre", s.real_per_genre, "Cap the real covers per genre in the MS-SSIM pool (0: all)")
      ->check(non_negative());
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
  app.add_option("--msssim-scales", s.msssim_scales,
                 "MS-SSIM beside the paper's 5 scales: N (1-5) or auto (coarsest scale >= 8 px; the default under 64 px)");
  app.add_option("--bn", bn,
                 "G's batch norm while sampling: batch (each batch's statistics, batches of mixed genres, as in "
                 "training; the default) or running (the running statistics, as covergan generate)")
      ->check(CLI::IsMember({"batch", "running"}));
  app.add_flag("--no-ema", no_ema, "Sample from G's own weights, not its weight average (train --ema)");
  app.add_option("--bootstrap", s.bootstrap, "Resamples for the Frechet distances' intervals (default 50; 0: none)")
      ->check(CLI::Range(0, 100000));
  app.add_flag("--all-checkpoints", all_checkpoints,
               "Evaluate every checkpoint of the run (--ckpt RUN): every number as a curve over training, and the best "
               "checkpoint by --best-by in report.json");
  app.add_option("--best-by", best_by, "With --all-checkpoints: " + cg::gan::best_by_help())
      ->check(CLI::IsMember(cg::gan::best_by_names()));
  app.add_option("--best-within", best_within,
                 "With --all-checkpoints: keep the latest checkpoint within this many percent of the best by --best-by "
                 "(default 0: the best itself)")
      ->check(CLI::Range(0.0, 100.0));
}

int run_eval() {
  CG_USER_CHECK(s.classifier.empty() || app_->get_option("--classifier-epochs")->count() == 0,
                "--classifier-epochs sets the training of the baseline eval cross-validates itself; with --classifier "
                "it would do nothing, so leave one out.");
  CG_USER_CHECK(all_checkpoints || app_->get_option("--best-within")->count() == 0,
                "--best-within picks among the checkpoints --all-checkpoints evaluates; without it there is one "
                "checkpoint, so leave it out.");
  CG_USER_CHECK(all_checkpoints || app_->get_option("--best-by")->count() == 0,
                "--best-by picks among the checkpoints --all-checkpoints evaluates; without it there is one checkpoint, "
                "so leave it out.");
  cg::gan::use_cuda_math(precision, false, cg::resolve_device(s.device, false), "");
  s.ema = !no_ema;
  s.bn_running = bn == "running";
  if (all_checkpoints) {
    const auto r = cg::gan::run_eval_all(s, best_by, best_within);
    std::printf("covergan eval: report in %s/report.html; best checkpoint by %s: %s\n", s.out.c_str(), best_by.c_str(),
                r["best"]["path"].get<std::string>().c_str());
    return 0;
  }
  const auto r = cg::gan::run_eval(s);
  std::printf("covergan eval: report in %s/report.html\n", s.out.c_str());
  return r.is_object() ? 0 : 1;
}

Registrar reg({"eval", "Evaluate a checkpoint: MS-SSIM, genre accuracies, baseline classifier, report.html",
               add_options, run_eval});

}  // namespace
}  // namespace covergan
