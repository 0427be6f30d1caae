// `covergan classify`: the paper's baseline, D's architecture trained only to
// classify real covers by genre, cross-validated over stratified folds; prints
// accuracy mean +- std and the confusion matrix, saves each fold's model.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "apps/commands.h"
#include "base/check.h"
#include "data/holdout.h"
#include "eval/classifier.h"
#include "engine/folder_lock.h"

namespace covergan {
namespace {

struct Settings {
  std::string data, out, device = "cpu";
  int folds = 5;
  double holdout = 0;
  uint64_t holdout_seed = 0;
  cg::gan::ClassifierConfig cfg;
} s;

void add_options(CLI::App& app) {
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--data", s.data, "A labeled dataset (.cgd from `covergan prepare`)")->required();
  app.add_option("--folds", s.folds, "Folds of the stratified cross-validation (default 5)")->check(CLI::Range(2, 100));
  app.add_option("--epochs", s.cfg.epochs, "Training epochs per fold (default 8)")->check(CLI::Range(1, 100000));
  app.add_option("--batch", s.cfg.batch, "Batch size (default 64)")->check(CLI::Range(2, 65536));
  app.add_option("--base-channels", s.cfg.base_channels, "Width of D's first conv (default 32)")
      ->check(CLI::Range(1, 4096));
  app.add_option("--lr", s.cfg.lr, "Adam learning rate (default 2e-4)")->check(positive());
  app.add_option("--seed", s.cfg.seed, "Seed of the folds, the initialisation and the shuffles");
  app.add_option("--out", s.out, "Folder for classifier_fold<i>.safetensors and classify.json");
  app.add_option("--device", s.device, "cpu, cuda or auto")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_flag("--no-hflip", [](int64_t) { s.cfg.hflip = false; }, "No random horizontal flips in training");
  app.add_flag("-q,--quiet", s.cfg.quiet, "No progress lines");
  app.add_option("--holdout", s.holdout,
                 "Leave out the covers `covergan train --holdout F` holds out (same F and --holdout-seed): the "
                 "classifier then never sees the covers eval scores D and G on (default 0: use every cover)")
      ->check(CLI::Range(0.0, 0.9));
  app.add_option("--holdout-seed", s.holdout_seed, "The seed of that holdout (default 0, as train's)");
}

// The confusion matrix as aligned text: rows the true genre, columns the prediction.
void print_confusion(const cg::gan::Confusion& c, const std::vector<std::string>& genres) {
  std::printf("confusion (rows: true genre, columns: predicted; summed over the held-out folds)\n%10s", "");
  for (const auto& g : genres) std::printf(" %8.8s", g.c_str());
  std::printf("\n");
  for (int t = 0; t < c.K; ++t) {
    std::printf("%10.10s", genres[size_t(t)].c_str());
    for (int p = 0; p < c.K; ++p) std::printf(" %8lld", static_cast<long long>(c.at(t, p)));
    std::printf("   recall %.1f%%\n", 100.0 * c.recall(t));
  }
}

int run_classify() {
  CG_USER_CHECK(std::filesystem::exists(s.data), "The dataset ", s.data, " does not exist.");
  const cg::data::Dataset ds = cg::data::Dataset::open(s.data);
  CG_USER_CHECK(ds.info().labeled(), "The dataset ", s.data, " has no genre labels; classify needs a labeled set.");
  const auto counts = ds.genre_counts();
  for (size_t g = 0; g < counts.size(); ++g)
    CG_USER_CHECK(counts[g] > 0, "The genre '", ds.info().genres[g], "' has no covers in ", s.data,
                  "; a classifier cannot learn it. Prepare the set again without that genre.");
  s.cfg.device = cg::resolve_device(s.device, !s.cfg.quiet);
  cg::FolderLock lock;  // --out: created and locked before the first fold, so it cannot fail after one
  if (!s.out.empty()) lock = cg::FolderLock(s.out, "classify");
  if (!s.cfg.quiet)
    std::printf("covergan classify: %lld covers of %dx%d, %zu genres, %d folds, %d epochs, base %d channels\n",
                static_cast<long long>(ds.info().count), ds.info().size, ds.info().size, ds.info().genres.size(),
                s.folds, s.cfg.epochs, s.cfg.base_channels);
  std::vector<int64_t> pool;
  if (s.holdout > 0) {
    const cg::data::HoldoutSplit split = cg::data::holdout_split(ds, s.holdout, s.holdout_seed);
    pool = split.train;
    if (!s.cfg.quiet)
      std::printf("  leaving out the %zu covers a run with --holdout %g --holdout-seed %llu holds out\n",
                  split.held_out.size(), s.holdout, static_cast<unsigned long long>(s.holdout_seed));
  }
  const nlohmann::json extra = {{"holdout", {{"fraction", s.holdout}, {"seed", s.holdout_seed}}}};
  const auto cv = cg::gan::cross_validate_classifier(ds, s.folds, s.cfg, s.out, pool, extra);
  print_confusion(cv.confusion, ds.info().genres);
  if (!s.out.empty())  // cross_validate_classifier wrote the list and the numbers there
    std::printf("models: %s/classifier_fold1..%d.safetensors, numbers: %s/%s\n", s.out.c_str(), s.folds,
                s.out.c_str(), cg::gan::kClassifierManifest);
  std::printf("baseline accuracy on held-out real covers: %.1f +- %.1f %% over %d folds (paper: 59 +- 4 %%)\n",
              100.0 * cv.accuracy.mean, 100.0 * cv.accuracy.std, s.folds);
  return 0;
}

Registrar reg({"classify", "Cross-validate the baseline genre classifier (D's architecture) on real covers",
               add_options, run_classify});

}  // namespace
}  // namespace covergan
