// `covergan train`: parses the flags into settings (defaults, then a --config
// file, then explicit flags) and hands them to gan::train, which runs the two
// phases, or continues a run with --resume.
#include <cstdio>
#include <filesystem>
#include <vector>

#include "apps/commands.h"
#include "base/check.h"
#include "data/dataset.h"
#include "engine/comm.h"
#include "engine/io_util.h"
#include "gan/distributed.h"
#include "gan/profile.h"
#include "gan/tape_dump.h"
#include "gan/trainer.h"

namespace covergan {
namespace {

struct Settings {
  std::string data, pretrain, out, device = "auto", precision = "auto", config, init, profile_csv, profile_trace,
      dtype = "f32", dump_tape_dot;
  int64_t profile = 0, pretrain_epochs = 5, epochs = 25, steps = 0, sample_every = 500, checkpoint_every = 1000, log_every = 10;
  int batch = 128, base_channels = 128, keep = 3;
  uint64_t seed = 1;
  double lr_g = 1e-5, lr_d = 2e-5, pretrain_lr_g = 0.002, pretrain_lr_d = 0.001, d_dropout = 0;
  double rank_timeout = 600;
  bool resume = false, force = false, hflip = false, quiet = false, dump_tape = false, dump_tape_values = false, sync_bn = false,
       deterministic = false, no_graph = false;
  // The holdout and the small-set recipe (docs/TRAINING.md); defaults are TrainConfig's.
  double holdout = 0.1, ema = 0, real_label = 1.0, instance_noise = 0;
  double g_genre_weight = 1.0, d_fake_genre_weight = 1.0;
  uint64_t holdout_seed = 0;
  int64_t instance_noise_steps = 0, lr_decay_from = 0;
  std::string augment, g_init = "normal", g_deconv = "free";
  double g_deconv_strength = 1.0;
  int standing_stats = 0;
  double g_spectral = 0;
  int g_spectral_from = 4;
} s;

CLI::App* app_ = nullptr;

// The data and how long: the sets, epochs, steps and the run folder.
void add_data_options(CLI::App& app) {
  app.add_option("--data", s.data, "The labeled training set (.cgd from `covergan prepare`)");
  app.add_option("--pretrain", s.pretrain, "An unlabeled set for phase 1 (pretraining without genre terms)");
  app.add_option("--pretrain-epochs", s.pretrain_epochs, "Epochs of pretraining (default 5)")
      ->check(non_negative());
  app.add_option("--epochs", s.epochs, "Epochs of labeled fine-tuning (default 25)")->check(non_negative());
  app.add_option("--steps", s.steps, "Stop after this many iterations in all (0: no limit)")
      ->check(non_negative());
  app.add_option("--out", s.out,
                 "The run folder (config, metrics, samples, checkpoints); needed unless --profile or --dump-tape");
}

// Where and in what arithmetic it runs.
void add_device_options(CLI::App& app) {
  app.add_option("--device", s.device, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_option("--precision", s.precision,
                 "CUDA arithmetic: fp32 (strict IEEE), tf32 (tensor cores for convolutions and GEMMs), bf16 (mixed "
                 "precision, FP32 master weights) or auto (default: tf32 on CUDA, fp32 on the CPU)")
      ->check(CLI::IsMember({"auto", "fp32", "tf32", "bf16"}));
  app.add_flag("--deterministic", s.deterministic,
               "cuDNN's deterministic convolution algorithms, none timed: a run repeats bit for bit (slower)");
  app.add_flag("--no-graph", s.no_graph, "Run each iteration eagerly instead of replaying it as a CUDA graph");
  app.add_option("--dtype", s.dtype, "f32, or f64 to train in double precision on the CPU (numerical checks)")
      ->check(CLI::IsMember({"f32", "f64"}));
}

// The model's width, the batch, the seeds, the learning rates and what a run writes when.
void add_training_options(CLI::App& app) {
  app.add_option("--batch", s.batch, "Batch size (default 128)")->check(CLI::Range(1, 65536));
  app.add_option("--base-channels", s.base_channels, "Model width: D's first conv (default 128, the paper's)")
      ->check(CLI::Range(1, 4096));
  app.add_option("--seed", s.seed, "Seed of every random draw (init, shuffles, latents)");
  app.add_option("--config", s.config, "A JSON file of settings (as RUN/config.json); flags override it");
  app.add_option("--init", s.init,
                 "Start from this checkpoint's weights, or a run folder's newest (e.g. a separate pretraining run)");
  app.add_option("--lr-g", s.lr_g, "Fine-tuning learning rate of G (default 1e-5)");
  app.add_option("--lr-d", s.lr_d, "Fine-tuning learning rate of D (default 2e-5)");
  app.add_option("--pretrain-lr-g", s.pretrain_lr_g, "Pretraining learning rate of G (default 0.002)");
  app.add_option("--pretrain-lr-d", s.pretrain_lr_d, "Pretraining learning rate of D (default 0.001)");
  app.add_option("--sample-every", s.sample_every, "Write a sample grid every N iterations (0: only at the end)")
      ->check(non_negative());
  app.add_option("--checkpoint-every", s.checkpoint_every, "Write a checkpoint every N iterations (0: only at the end)")
      ->check(non_negative());
  app.add_option("--keep", s.keep, "Checkpoints to keep (default 3)")->check(CLI::Range(1, 1000000));
  app.add_option("--log-every", s.log_every, "Progress line every N iterations when not on a terminal")
      ->check(positive());
  app.add_flag("--hflip", s.hflip, "Random horizontal flips of the real images");
}

// Data-parallel runs (mpirun).
void add_parallel_options(CLI::App& app) {
  app.add_flag("--sync-bn,!--no-sync-bn", s.sync_bn,
               "Data-parallel runs: batch norm over the global batch (all-reduced), so N ranks compute what one "
               "process does; default off (per-rank statistics, as PyTorch's DDP)");
  app.add_option("--rank-timeout", s.rank_timeout,
                 "Data-parallel runs: seconds a rank may keep the others waiting before the job stops naming it "
                 "(default 600)")
      ->check(CLI::PositiveNumber);
}

// The held-out share, and the small-set options (docs/TRAINING.md measures each).
void add_recipe_options(CLI::App& app) {
  app.add_option("--d-dropout", s.d_dropout,
                 "Dropout with this probability after each of D's conv blocks while training (default 0: none)")
      ->check(CLI::Range(0.0, 0.99));
  app.add_option("--holdout", s.holdout,
                 "Fraction of each genre's labeled covers held out for evaluation, by a hash of their pixels "
                 "(default 0.1; 0: train on all)")
      ->check(CLI::Range(0.0, 0.9));
  app.add_option("--holdout-seed", s.holdout_seed, "Seed of that choice (default 0, whatever --seed is)");
  app.add_option("--ema", s.ema, "Sample from an average of G's weights with this decay, e.g. 0.999 (default 0: off)")
      ->check(CLI::Range(0.0, 0.999999));
  app.add_option("--augment", s.augment,
                 "DiffAugment of everything D sees: a comma list of color, translation, cutout (default: none)");
  app.add_option("--real-label", s.real_label, "D's target for real covers; 0.9 is one-sided label smoothing (default 1)")
      ->check(CLI::Range(0.5, 1.0));
  app.add_option("--instance-noise", s.instance_noise, "Std of Gaussian noise added to D's inputs (default 0: off)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--instance-noise-steps", s.instance_noise_steps,
                 "Iterations over which that noise falls linearly to 0 (default 0: constant)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--g-genre-weight", s.g_genre_weight,
                 "Weight of the genre term in G's loss (default 1, the paper's; lower: less pull towards the typical "
                 "cover of a genre)")
      ->check(CLI::Range(0.0, 10.0));
  app.add_option("--d-fake-genre-weight", s.d_fake_genre_weight,
                 "Weight of D's genre term on generated covers (default 1, the paper's; 0: D learns genres from real "
                 "covers only)")
      ->check(CLI::Range(0.0, 10.0));
  app.add_option("--g-init", s.g_init,
                 "How G's transposed convolutions start: normal (every tap drawn, the paper; default) or icnr "
                 "(nearest-neighbour upsampling and a 3x3 convolution, no checkerboard at the start)")
      ->check(CLI::IsMember({"normal", "icnr"}));
  app.add_option("--g-deconv", s.g_deconv,
                 "What G's transposed convolutions may become: free (any kernel, the paper; default) or resize "
                 "(kept, after every update, to nearest-neighbour upsampling and a 3x3 convolution: no checkerboard)")
      ->check(CLI::IsMember({"free", "resize"}));
  app.add_option("--g-deconv-strength", s.g_deconv_strength,
                 "With --g-deconv resize: the share of each kernel's checkerboard part removed after every update "
                 "(default 1: all of it; below 1 a soft pull that G's loss can outweigh)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--standing-stats", s.standing_stats,
                 "With --ema: before each checkpoint, measure the weight average's batch-norm statistics afresh over "
                 "this many batches with its own weights, for `generate` (default 0: keep the average of G's)")
      ->check(CLI::Range(0, 10000));
  app.add_option("--g-spectral", s.g_spectral,
                 "Weight of a spectral term in G's loss: per genre, the squared log ratio of generated to training "
                 "covers' power in each ring of the spectrum from --g-spectral-from up (default 0: off)")
      ->check(CLI::Range(0.0, 100.0));
  app.add_option("--g-spectral-from", s.g_spectral_from,
                 "The first ring the spectral term compares, in cycles per image side (default 4)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--lr-decay-from", s.lr_decay_from,
                 "Let both learning rates fall linearly from this iteration to 0 at --steps (default: constant)")
      ->check(CLI::NonNegativeNumber);
}

// An existing run folder, and progress lines.
void add_run_options(CLI::App& app) {
  app.add_flag("--resume", s.resume, "Continue the run in --out from its newest checkpoint, exactly");
  app.add_flag("--force", s.force, "Replace a run already in --out");
  app.add_flag("-q,--quiet", s.quiet, "No progress lines");
}

// Tools that run an iteration and report instead of training: the profile and the tape.
void add_tool_options(CLI::App& app) {
  app.add_option("--profile", s.profile,
                 "Time N iterations of the model the other flags describe (--data gives the image size) on "
                 "random images and print a table per layer, pass and shape; writes profile.csv and roofline.png to "
                 "--out (default: here)")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            try {
              size_t used = 0;
              const long long n = std::stoll(v, &used);
              if (used == v.size() && n > 0) return "";
            } catch (const std::exception&) {
            }
            return "--profile needs a positive number of iterations (e.g. --profile 10), not '" + v + "'.";
          },
          "N>0"));
  app.add_option("--profile-csv", s.profile_csv, "With --profile: write the CSV here instead of OUT/profile.csv");
  app.add_option("--profile-trace", s.profile_trace,
                 "With --profile: also write a Chrome trace (JSON; Perfetto opens it), one slice per scope and thread");
  app.add_flag("--dump-tape", s.dump_tape,
               "Run one iteration on random images and print the D and G steps' tapes: every record with its "
               "tensors' ids, shapes, dtype, device and parameter names (no --out needed)");
  app.add_flag("--dump-tape-values", s.dump_tape_values,
               "As --dump-tape, with each tensor's value and gradient (mean, std, min, max) after the backward");
  app.add_option("--dump-tape-dot", s.dump_tape_dot,
                 "Write the two tapes as a Graphviz graph to this .dot file (and .svg, .png beside it when "
                 "Graphviz is installed)");
}

void add_options(CLI::App& app) {
  app_ = &app;
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // a repeated flag: the last wins
  add_data_options(app);
  add_device_options(app);
  add_training_options(app);
  add_parallel_options(app);
  add_recipe_options(app);
  add_run_options(app);
  add_tool_options(app);
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
  put("--precision", "precision", s.precision);
  if (given("--deterministic")) j["deterministic"] = true;
  if (given("--no-graph")) j["graph"] = false;
  put("--batch", "batch", s.batch);
  put("--seed", "seed", s.seed);
  put("--init", "init", s.init);
  put("--sample-every", "sample_every", s.sample_every);
  put("--checkpoint-every", "checkpoint_every", s.checkpoint_every);
  put("--keep", "keep_checkpoints", s.keep);
  put("--log-every", "log_every", s.log_every);
  if (given("--hflip")) j["hflip"] = true;
  if (given("--sync-bn")) j["sync_bn"] = s.sync_bn;  // either spelling
  put("--dtype", "dtype", s.dtype);
  put("--holdout", "holdout", s.holdout);
  put("--holdout-seed", "holdout_seed", s.holdout_seed);
  put("--ema", "ema", s.ema);
  put("--augment", "augment", s.augment);
  put("--real-label", "real_label", s.real_label);
  put("--instance-noise", "instance_noise", s.instance_noise);
  put("--g-genre-weight", "g_genre_weight", s.g_genre_weight);
  put("--d-fake-genre-weight", "d_fake_genre_weight", s.d_fake_genre_weight);
  put("--instance-noise-steps", "instance_noise_steps", s.instance_noise_steps);
  put("--g-init", "g_init", s.g_init);
  put("--g-deconv", "g_deconv", s.g_deconv);
  put("--g-deconv-strength", "g_deconv_strength", s.g_deconv_strength);
  put("--standing-stats", "standing_stats", s.standing_stats);
  put("--g-spectral", "g_spectral", s.g_spectral);
  put("--g-spectral-from", "g_spectral_from", s.g_spectral_from);
  if (given("--base-channels")) j["model"]["base_channels"] = s.base_channels;
  if (given("--d-dropout")) j["model"]["d_dropout"] = s.d_dropout;
  if (given("--lr-decay-from")) {  // the schedule's end is fixed now: a resume keeps it
    const int64_t steps = j.value("steps", int64_t(0));
    CG_USER_CHECK(steps > s.lr_decay_from, "--lr-decay-from ", s.lr_decay_from,
                  " needs --steps beyond it: the learning rates reach 0 at the last iteration.");
    j["lr_decay_from"] = s.lr_decay_from, j["lr_decay_to"] = steps;
  }
  if (given("--lr-g")) j["lr_finetune"]["g"] = s.lr_g;
  if (given("--lr-d")) j["lr_finetune"]["d"] = s.lr_d;
  if (given("--pretrain-lr-g")) j["lr_pretrain"]["g"] = s.pretrain_lr_g;
  if (given("--pretrain-lr-d")) j["lr_pretrain"]["d"] = s.pretrain_lr_d;
  return j;
}

// The settings of --profile and --dump-tape: the flags and --config, with the image size
// and genres of the dataset they name (only its header is read).
cg::gan::TrainConfig synthetic_run_config() {
  cg::gan::TrainConfig cfg;
  cg::gan::apply_json(cfg, explicit_settings());
  const std::string& set = !cfg.data.empty() ? cfg.data : cfg.pretrain;
  if (!set.empty()) {
    CG_USER_CHECK(std::filesystem::exists(set), "The dataset ", set, " does not exist.");
    const cg::data::Dataset ds = cg::data::Dataset::open(set, /*verify_checksums=*/false);
    cfg.model.image_size = ds.info().size;
    if (ds.info().labeled()) cfg.model.num_genres = int(ds.info().genres.size());
    cfg.model.validate();
  }
  return cfg;
}

// --profile N: the model the flags, --config and --data describe, on random images.
int run_profile() {
  const cg::gan::TrainConfig cfg = synthetic_run_config();
  cg::gan::ProfileOptions o;
  o.iters = s.profile;
  o.dir = s.out.empty() ? "." : s.out;
  o.csv_path = s.profile_csv;
  o.trace_path = s.profile_trace;
  o.loss = cg::gan::loss_config(cfg);
  if (!s.out.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(s.out, ec);
    CG_USER_CHECK(std::filesystem::is_directory(s.out), "Cannot create the folder ", s.out, ": ",
                  ec ? ec.message() : std::string("a file of that name exists"), ".");
  }
  // Checked before the timing, which takes a while (profile_training checks its own files).
  if (!s.profile_csv.empty()) cg::check_writable(s.profile_csv, "the profile CSV");
  const bool distributed = cg::launch_info().size > 1;  // under mpirun / srun: the data-parallel iteration
  const cg::Device dev =
      distributed ? cg::resolve_device(cfg.device, cg::Comm::world().root()) : cg::resolve_device(cfg.device);
  cg::gan::use_cuda_math(cfg.precision, cfg.deterministic, dev, "");
  if (distributed)
    cg::gan::profile_distributed(cfg.model, cfg.batch, dev, s.profile, cfg.sync_bn, s.profile_csv);
  else
    cg::gan::profile_training(cfg.model, cfg.batch, dev, o);
  return 0;
}

// --dump-tape: the model the flags and --config describe, one iteration, its tapes printed.
int run_dump_tape() {
  if (cg::launch_info().rank != 0) return 0;  // under a launcher: one rank prints the (same) tapes
  const cg::gan::TrainConfig cfg = synthetic_run_config();
  const cg::Device dev = cg::resolve_device(cfg.device);
  cg::gan::use_cuda_math(cfg.precision, cfg.deterministic, dev, "");
  cg::gan::TapeDumpOptions opt;
  opt.text = s.dump_tape;
  opt.values = s.dump_tape_values;
  opt.dot_path = s.dump_tape_dot;
  opt.loss = cg::gan::loss_config(cfg);
  cg::gan::dump_training_tapes(cfg.model, cfg.batch, dev, opt);
  return 0;
}

// Flags that would do nothing in the mode chosen: refused rather than ignored. --data and
// --pretrain stay allowed in both synthetic modes (they give the image size and genres), and
// --out with --profile names where its files go.
void check_combinations() {
  for (const char* flag : {"--profile-csv", "--profile-trace"})
    CG_USER_CHECK(!given(flag) || given("--profile"), flag, " writes a file of --profile N; pass --profile too.");
  const bool dump = s.dump_tape || s.dump_tape_values || !s.dump_tape_dot.empty();
  CG_USER_CHECK(!(dump && given("--profile")), "--dump-tape and --profile are two different runs; pass one.");
  const char* mode = dump ? "--dump-tape" : given("--profile") ? "--profile" : nullptr;
  if (!mode) return;
  std::vector<const char*> idle{"--resume", "--force", "--init"};
  if (dump) idle.push_back("--out");  // the tapes go to standard output (or --dump-tape-dot's file)
  for (const char* flag : idle)
    CG_USER_CHECK(!given(flag), mode, " runs on random images and writes no run, so ", flag,
                  " would do nothing; leave it out.");
}

int run_train() {
  check_combinations();
  if (s.dump_tape || s.dump_tape_values || !s.dump_tape_dot.empty()) return run_dump_tape();
  if (given("--profile")) return run_profile();
  CG_USER_CHECK(!s.out.empty(), "No run folder given: pass --out DIR.");
  CG_USER_CHECK(!(s.resume && s.force), "--resume and --force contradict each other; pass one.");
  cg::gan::TrainOptions opt;
  opt.out = s.out;
  opt.resume = s.resume;
  opt.force = s.force;
  opt.quiet = s.quiet;
  opt.overrides = explicit_settings();
  opt.rank_timeout = s.rank_timeout;
  cg::gan::TrainConfig cfg;
  if (!s.resume) {
    cg::gan::apply_json(cfg, opt.overrides);
    CG_USER_CHECK(!cfg.data.empty(), "No labeled dataset given: pass --data FILE.cgd (or --resume).");
  }
  const cg::gan::TrainResult r = cg::gan::train(cfg, opt);
  if (!s.quiet && cg::Comm::world().root()) {  // one report for all ranks
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
