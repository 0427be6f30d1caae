// `covergan train`: parses the flags into settings (defaults, then a --config
// file, then explicit flags) and hands them to gan::train, which runs the two
// phases, or continues a run with --resume.
#include <cstdio>

#include "apps/commands.h"
#include "base/check.h"
#include "gan/profile.h"
#include "gan/trainer.h"

namespace covergan {
namespace {

struct Settings {
  std::string data, pretrain, out, device = "auto", config, init, profile_csv;
  int64_t profile = 0, pretrain_epochs = 5, epochs = 25, steps = 0, sample_every = 500, checkpoint_every = 1000, log_every = 10;
  int batch = 128, base_channels = 128, keep = 3;
  uint64_t seed = 1;
  double lr_g = 1e-5, lr_d = 2e-5, pretrain_lr_g = 0.002, pretrain_lr_d = 0.001;
  bool resume = false, force = false, hflip = false, quiet = false, dump_tape = false;
} s;

CLI::App* app_ = nullptr;

void add_options(CLI::App& app) {
  app_ = &app;
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // a repeated flag: the last wins
  app.add_option("--data", s.data, "The labeled training set (.cgd from `covergan prepare`)");
  app.add_option("--pretrain", s.pretrain, "An unlabeled set for phase 1 (pretraining without genre terms)");
  app.add_option("--pretrain-epochs", s.pretrain_epochs, "Epochs of pretraining (default 5)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--epochs", s.epochs, "Epochs of labeled fine-tuning (default 25)")->check(CLI::NonNegativeNumber);
  app.add_option("--steps", s.steps, "Stop after this many iterations in all (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--out", s.out,
                 "The run folder (config, metrics, samples, checkpoints); needed unless --profile or --dump-tape");
  app.add_option("--device", s.device, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_option("--batch", s.batch, "Batch size (default 128)")->check(CLI::Range(1, 65536));
  app.add_option("--base-channels", s.base_channels, "Model width: D's first conv (default 128, the paper's)")
      ->check(CLI::Range(1, 4096));
  app.add_option("--seed", s.seed, "Seed of every random draw (init, shuffles, latents)");
  app.add_option("--config", s.config, "A JSON file of settings (as RUN/config.json); flags override it");
  app.add_option("--init", s.init, "Start from this checkpoint's weights (e.g. a separate pretraining run)");
  app.add_option("--lr-g", s.lr_g, "Fine-tuning learning rate of G (default 1e-5)");
  app.add_option("--lr-d", s.lr_d, "Fine-tuning learning rate of D (default 2e-5)");
  app.add_option("--pretrain-lr-g", s.pretrain_lr_g, "Pretraining learning rate of G (default 0.002)");
  app.add_option("--pretrain-lr-d", s.pretrain_lr_d, "Pretraining learning rate of D (default 0.001)");
  app.add_option("--sample-every", s.sample_every, "Write a sample grid every N iterations (0: only at the end)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--checkpoint-every", s.checkpoint_every, "Write a checkpoint every N iterations (0: only at the end)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--keep", s.keep, "Checkpoints to keep (default 3)")->check(CLI::Range(1, 1000000));
  app.add_option("--log-every", s.log_every, "Progress line every N iterations when not on a terminal")
      ->check(CLI::PositiveNumber);
  app.add_flag("--hflip", s.hflip, "Random horizontal flips of the real images");
  app.add_flag("--resume", s.resume, "Continue the run in --out from its newest checkpoint, exactly");
  app.add_flag("--force", s.force, "Replace a run already in --out");
  app.add_flag("-q,--quiet", s.quiet, "No progress lines");
  app.add_option("--profile", s.profile,
                 "Time N iterations on random images (no dataset, nothing written) and print a per-op table")
      ->check(CLI::PositiveNumber);
  app.add_option("--profile-csv", s.profile_csv, "With --profile: also write the table as CSV to this file");
  app.add_flag("--dump-tape", s.dump_tape,
               "Run one iteration on random images and print the D and G steps' tape records (no --out needed)");
}

bool given(const char* flag) { return app_->get_option(flag)->count() > 0; }

// The settings given explicitly: the --config file's, then the flags'.
nlohmann::json explicit_settings() {
  nlohmann::json j = s.config.empty() ? nlohmann::json::object() : cg::gan::read_json_file(s.config);
  CG_USER_CHECK(j.is_object(), "The settings file ", s.config, " must hold a JSON object.");
  auto put = [&](const char* flag, const char* key, const nlohmann::json& v) {
    if (given(flag)) j[key] = v;
  };
  put("--data", "data", s.data);
  put("--pretrain", "pretrain", s.pretrain);
  put("--pretrain-epochs", "pretrain_epochs", s.pretrain_epochs);
  put("--epochs", "epochs", s.epochs);
  put("--steps", "steps", s.steps);
  put("--device", "device", s.device);
  put("--batch", "batch", s.batch);
  put("--seed", "seed", s.seed);
  put("--init", "init", s.init);
  put("--sample-every", "sample_every", s.sample_every);
  put("--checkpoint-every", "checkpoint_every", s.checkpoint_every);
  put("--keep", "keep_checkpoints", s.keep);
  put("--log-every", "log_every", s.log_every);
  if (given("--hflip")) j["hflip"] = true;
  if (given("--base-channels")) j["model"]["base_channels"] = s.base_channels;
  if (given("--lr-g")) j["lr_finetune"]["g"] = s.lr_g;
  if (given("--lr-d")) j["lr_finetune"]["d"] = s.lr_d;
  if (given("--pretrain-lr-g")) j["lr_pretrain"]["g"] = s.pretrain_lr_g;
  if (given("--pretrain-lr-d")) j["lr_pretrain"]["d"] = s.pretrain_lr_d;
  return j;
}

// --profile N: the model the flags and --config describe, on random images.
int run_profile() {
  cg::gan::TrainConfig cfg;
  cg::gan::apply_json(cfg, explicit_settings());
  cg::gan::profile_training(cfg.model, cfg.batch, cg::resolve_device(cfg.device), s.profile, s.profile_csv);
  return 0;
}

// --dump-tape: the model the flags and --config describe, one iteration, its tapes printed.
int run_dump_tape() {
  cg::gan::TrainConfig cfg;
  cg::gan::apply_json(cfg, explicit_settings());
  cg::gan::dump_training_tapes(cfg.model, cfg.batch, cg::resolve_device(cfg.device));
  return 0;
}

int run_train() {
  if (s.dump_tape) return run_dump_tape();
  if (s.profile > 0) return run_profile();
  CG_USER_CHECK(!s.out.empty(), "No run folder given: pass --out DIR.");
  CG_USER_CHECK(!(s.resume && s.force), "--resume and --force contradict each other; pass one.");
  cg::gan::TrainOptions opt;
  opt.out = s.out;
  opt.resume = s.resume;
  opt.force = s.force;
  opt.quiet = s.quiet;
  opt.overrides = explicit_settings();
  cg::gan::TrainConfig cfg;
  if (!s.resume) {
    cg::gan::apply_json(cfg, opt.overrides);
    CG_USER_CHECK(!cfg.data.empty(), "No labeled dataset given: pass --data FILE.cgd (or --resume).");
  }
  const cg::gan::TrainResult r = cg::gan::train(cfg, opt);
  if (!s.quiet) {
    std::printf("%s after %lld iterations (%lld in this run, %.1f images/s)\n",
                r.interrupted ? "interrupted" : "done", static_cast<long long>(r.steps),
                static_cast<long long>(r.steps_this_run), r.images_per_s);
    std::printf("  checkpoint: %s\n  samples:    %s\n  metrics:    %s/metrics.csv, %s/loss.png\n",
                r.last_checkpoint.c_str(), r.samples.c_str(), s.out.c_str(), s.out.c_str());
    if (r.interrupted) std::printf("  continue with: covergan train --out %s --resume\n", s.out.c_str());
  }
  return 0;
}

Registrar reg({"train", "Train the AC-GAN (pretraining, then labeled fine-tuning), or resume a run", add_options,
               run_train});

}  // namespace
}  // namespace covergan
