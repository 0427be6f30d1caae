// The training loop (see trainer.h): steps, their statistics, checkpoints and samples. A
// Run (trainer_run.h; its setup in trainer_setup.cpp) holds everything one `covergan
// train` needs; its state between iterations (TrainState, the Adam moments, the weights)
// is exactly what a checkpoint stores, so a resumed run computes the same numbers.
#include "gan/trainer.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "data/grid.h"
#include "data/plot.h"
#include "engine/ema.h"
#include "gan/standing_stats.h"
#include "gan/trainer_run.h"

namespace cg::gan {

LossConfig loss_config(const TrainConfig& cfg, bool genre_terms) {
  LossConfig lc{genre_terms, cfg.lambda_code, cfg.real_label, cfg.g_genre_weight, cfg.d_fake_genre_weight};
  lc.spectral_weight = cfg.g_spectral, lc.spectral_first_ring = cfg.g_spectral_from;
  return lc;
}

uint64_t derive_seed(uint64_t seed, uint64_t stream) {
  return splitmix64(seed ^ (stream * 0xD1B54A32D192ED03ull));
}

namespace {

std::atomic<int> g_signal{0};

bool g_ranks = false;  // a distributed run: the ranks agree on the step to stop after

extern "C" void on_stop_signal(int sig) {
  g_signal = sig;
  std::signal(sig, SIG_DFL);  // a second Ctrl-C ends the process at once
  static const char one[] = "\ncovergan: stopping after this step and writing a checkpoint (Ctrl-C again aborts)\n";
  static const char many[] = "\ncovergan: a signal: this rank stops with the others after the step they all finish\n";
  [[maybe_unused]] ssize_t n = g_ranks ? ::write(2, many, sizeof many - 1) : ::write(2, one, sizeof one - 1);
}

struct SignalGuard {
  bool on;
  void (*old_int)(int) = SIG_DFL;
  void (*old_term)(int) = SIG_DFL;
  explicit SignalGuard(bool enable) : on(enable) {
    g_signal = 0;
    if (!on) return;
    old_int = std::signal(SIGINT, on_stop_signal);
    old_term = std::signal(SIGTERM, on_stop_signal);
  }
  ~SignalGuard() {
    if (!on) return;
    std::signal(SIGINT, old_int);
    std::signal(SIGTERM, old_term);
  }
};

}  // namespace

namespace trainer_detail {

bool Run::stop_requested() const { return dp_.distributed() ? stop_agreed_ : g_signal != 0; }

// The three D calls' inputs (augmentation, instance noise), drawn after the latents.
void Run::draw_d_inputs(StepBatch& b) {
  if (!augment_.any() && cfg_.instance_noise <= 0) return;
  for (DInput* in : {&b.real_in, &b.fake_in_d, &b.fake_in_g})
    *in = draw_d_input(rng_, cfg_, augment_, st_.step, cfg_.batch, dev_, dtype());
}

// The learning rates of the iteration about to run (--lr-decay-from): set on the host before
// its Adam steps are queued, which is why a decaying run does not replay a CUDA graph.
void Run::apply_lr_schedule() {
  if (!decaying()) return;
  const PhaseLr lr = pretraining() ? cfg_.lr_pretrain : cfg_.lr_finetune;
  const double f = lr_decay_factor(cfg_, st_.step);
  opt_g_->config().lr = lr.g * f;
  opt_d_->config().lr = lr.d * f;
}

void Run::switch_to_finetune() {
  drain(true);
  if (runner_) rng_ = Philox(st_.rng_seed, runner_->latent_offset());
  log_commit();
  write_checkpoint(dir_.path("checkpoints/pretrained.safetensors"));
  if (!opt_.quiet)
    std::printf("\npretraining done after %lld iterations (checkpoints/pretrained.safetensors); fine-tuning on the "
                "labeled set from the pretrained weights\n",
                static_cast<long long>(st_.step));
  st_.phase = kFinetune;
  make_optimizers();  // fresh moments at the fine-tuning learning rates
  make_loader(0, 0);
  make_runner();
}

// One iteration enqueued: the loader writes the batch into the runner's buffers in place,
// the runner queues the device work; finished iterations are read back (and logged) as
// their statistics land, all of them before a sample grid or a checkpoint.
void Run::one_step() {
  apply_lr_schedule();
  if (!runner_) return one_step_eager();
  loader_->next(runner_->real(), runner_->real_labels());
  runner_->step();
  after_update();  // queued after the iteration on the same stream
  ++st_.step;
  pending_.emplace_back(st_.step, loader_->epoch());
  drain(false);
  const bool sample = cfg_.sample_every > 0 && st_.step % cfg_.sample_every == 0;
  const bool ckpt = cfg_.checkpoint_every > 0 && st_.step % cfg_.checkpoint_every == 0;
  if (sample || ckpt) drain(true);
  if (sample) write_samples();
  if (ckpt) {
    log_commit();  // every row up to this step is on disk before the checkpoint that covers it
    write_checkpoint(dir_.checkpoint_path(st_.step));
  }
}

// Reads the finished iterations' statistics: those already landed, and with all (or a full
// ring) waits for the rest. The time since the last read is shared among the iterations read.
void Run::drain(bool all) {
  std::vector<StepStats> got;
  StepStats s;
  while (runner_ && runner_->next_stats(&s, all || runner_->full())) got.push_back(s);
  if (got.empty()) return;
  const auto now = std::chrono::steady_clock::now();
  const double dt = std::chrono::duration<double>(now - last_read_).count() / double(got.size());
  last_read_ = now;
  for (const StepStats& one : got) {
    const auto [step, epoch] = pending_.front();
    pending_.pop_front();
    report(step, epoch, one, dt);
  }
}

// The one sentence a run ends with when a loss term is NaN or Inf (the replayed path reads
// it from the statistics, the eager one catches NonFiniteLoss); good: the last checkpoint.
std::string Run::halted_message(int64_t step, int64_t epoch, const std::string& term, double value,
                                const std::string& good) const {
  return detail::cat("Training stopped at iteration ", step, " (", st_.phase, ", epoch ",
                     std::min(epoch + 1, phase_epochs()), "): the loss term ", term, " is ", value,
                     " (not finite), so no weights were updated with it; ",
                     good.empty() ? std::string("no checkpoint had been written yet")
                                  : "the last good checkpoint is " + good,
                     ". Lower the learning rates or check the data.");
}

void Run::report(int64_t step, int64_t epoch, const StepStats& s, double dt) {
  if (s.halted) {
    log_flush();
    throw Error(halted_message(step, epoch, halted_term(s.halted), halted_value(s), dir_.latest_checkpoint()));
  }
  progress_.tick(step, cfg_.batch, dt);
  if (log_) log_->append(step, st_.phase, epoch, s, progress_.images_per_s(), progress_.elapsed());
  if (progress_.due(step, cfg_.log_every)) {
    if (!opt_.quiet) progress_.print(st_.phase, epoch, phase_epochs(), step, planned_steps(), s, !pretraining());
    log_flush();  // quiet too: a live page (covergan serve) sees the rows as they come
  }
}

// The eager iteration (data-parallel or f64): one train_step, its statistics read at once.
// After every iteration, on every rank (the same weights stay the same), on the weights
// Adam just wrote: G's kernels kept to resize-convolutions (--g-deconv resize), then the
// weight average (--ema) of the result.
void Run::after_update() {
  if (cfg_.g_deconv == "resize") G_->project_resize_conv(cfg_.g_deconv_strength);
  if (G_ema_) ema_update(G_ema_->params(), G_->params(), ema_decay_at(cfg_.ema, st_.step));
}

void Run::one_step_eager() {
  const auto t0 = std::chrono::steady_clock::now();
  loader_->next(real_, labels_);
  StepBatch b;
  b.real = dtype() == DType::f32 ? real_ : real_.to(dtype());
  b.real_labels = labels_;
  dp_.draw_latents(rng_, cfg_.model, cfg_.batch, dev_, dtype(), b);  // this rank's rows
  draw_d_inputs(b);
  const LossConfig lc = loss_config();
  StepStats s;
  try {
    bool stop = g_signal != 0;
    s = dp_.train_step(*G_, *D_, *opt_g_, *opt_d_, b, lc, cfg_.sync_bn, &stop);
    stop_agreed_ = stop;
  } catch (const NonFiniteLoss& e) {  // every rank sees the same global loss
    log_flush();
    throw AgreedError(halted_message(st_.step + 1, loader_->epoch(), e.term, e.value,
                                     dp_.root() ? dir_.latest_checkpoint() : ""));
  }
  after_update();
  ++st_.step;
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  report(st_.step, loader_->epoch(), s, dt);  // s.halted is 0 here: train_step threw instead
  if (cfg_.sample_every > 0 && st_.step % cfg_.sample_every == 0) write_samples();
  if (cfg_.checkpoint_every > 0 && st_.step % cfg_.checkpoint_every == 0) {
    log_commit();  // every row up to this step is on disk before the checkpoint that covers it
    write_checkpoint(dir_.checkpoint_path(st_.step));
  }
}

void Run::write_checkpoint(const std::string& path) {
  st_.epoch = loader_->epoch();
  st_.batch_in_epoch = loader_->batch_in_epoch();
  st_.rng_offset = runner_ ? runner_->latent_offset() : rng_.offset();
  st_.adam_g_steps = opt_g_->steps();
  st_.adam_d_steps = opt_d_->steps();
  dp_.settle_for_checkpoint(*G_, *D_, *opt_g_, *opt_d_, cfg_.sync_bn);  // all ranks; rank 0 writes
  // On every rank, so that the ranks' weight averages stay alike (same seed, same passes).
  if (G_ema_ && cfg_.standing_stats > 0)
    measure_standing_stats(*G_ema_, cfg_.standing_stats, std::max(2, cfg_.batch),
                           derive_seed(derive_seed(cfg_.seed, kSeedStandingStats), uint64_t(st_.step)));
  const bool step_file = path == dir_.checkpoint_path(st_.step);
  dp_.comm().agree(
      [&] {
        save_checkpoint(path, cfg_, *G_, D_.get(), opt_g_.get(), opt_d_.get(), st_, G_ema_.get());
        if (step_file) dir_.rotate_checkpoints(cfg_.keep_checkpoints);
      },
      "writing a checkpoint", /*only_root=*/true);
  if (step_file) last_ckpt_step_ = st_.step, res_.last_checkpoint = path;
}

void Run::write_samples() {
  dp_.comm().agree(
      [&] {
        const Tensor images = generate(G_ema_ ? *G_ema_ : *G_, sample_latents_, BnMode::batch);
        res_.samples = dir_.sample_path(st_.step);
        data::write_grid_png(res_.samples, images.dtype() == DType::f32 ? images : images.to(DType::f32),
                             cfg_.sample_cols, cfg_.genres);
        write_plot();
      },
      "writing samples", /*only_root=*/true);
  last_sample_step_ = st_.step;
}

void Run::write_plot() {
  if (log_->steps.empty()) return;
  write_line_plot(dir_.path("loss.png"),
                  {{"D loss", {200, 40, 40}, log_->steps, log_->d_loss}, {"G loss", {40, 80, 200}, log_->steps, log_->g_loss}},
                  "covergan losses over iterations");
}

// In a distributed run each step below is agreed: a failure on any rank stops every rank
// with that rank's sentence (engine/comm.h); in one process they run as written.
TrainResult Run::go() {
  Comm& comm = dp_.comm();
  if (!comm.root()) opt_.quiet = true;  // rank 0 reports for all
  comm.set_timeout(opt_.rank_timeout);
  std::optional<Checkpoint> ck, init;
  setup(ck, init);
  comm.agree([&] { prepare_folder(ck.has_value()); }, "preparing the run folder", /*only_root=*/true);
  announce();
  g_ranks = dp_.distributed();
  SignalGuard guard(opt_.handle_signals);
  const int64_t start_step = st_.step;
  for (;;) {
    if (pretraining() && loader_->epoch() >= cfg_.pretrain_epochs) switch_to_finetune();
    if (!pretraining() && loader_->epoch() >= cfg_.epochs) break;
    if (cfg_.steps > 0 && st_.step >= cfg_.steps) break;
    if (stop_requested()) {
      res_.interrupted = true;
      break;
    }
    one_step();
  }
  drain(true);
  std::string none_yet = dp_.root() && dir_.latest_checkpoint().empty() ? "1" : "0";
  comm.broadcast(none_yet, "broadcast checkpoint state");  // rank 0's folder decides, for all
  if (last_ckpt_step_ != st_.step || none_yet == "1") {
    log_commit();
    write_checkpoint(dir_.checkpoint_path(st_.step));
  }
  if (last_sample_step_ != st_.step) write_samples();
  if (res_.last_checkpoint.empty() && dp_.root()) res_.last_checkpoint = dir_.latest_checkpoint();
  log_flush();
  res_.steps = st_.step;
  res_.steps_this_run = st_.step - start_step;
  res_.images_per_s = progress_.mean_images_per_s();
  if (!opt_.quiet) progress_.finish();
  return res_;
}

}  // namespace trainer_detail

TrainConfig resume_config(const TrainConfig& saved, const nlohmann::json& overrides) {
  static const char* kMayChange[] = {"epochs",           "pretrain_epochs",  "steps",     "device",
                                     "sample_every",     "checkpoint_every", "log_every", "keep_checkpoints",
                                     "sample_cols",      "data",             "pretrain",  "sync_bn",
                                     "precision",        "deterministic",    "graph"};
  const nlohmann::json was = to_json(saved);
  nlohmann::json allowed = nlohmann::json::object();
  for (const auto& [k, v] : overrides.items()) {
    if (k == "data_bytes" || k == "data_fingerprint") continue;  // measured from the file, never set
    bool may = false;
    for (const char* m : kMayChange) may = may || k == m;
    if (may) {
      allowed[k] = v;
      continue;
    }
    const nlohmann::json& value = v;  // clang before 16 cannot capture a structured binding
    const bool same = k == "model" ? [&] {
      for (const auto& [mk, mv] : value.items())
        if (!was["model"].contains(mk) || was["model"][mk] != mv) return false;
      return true;
    }()
                                   : (was.contains(k) && was[k] == v);
    CG_USER_CHECK(same, "--resume continues a run with its own settings: \"", k, "\" was ",
                  was.contains(k) ? was[k].dump() : "unset", " and cannot become ", v.dump(), ".");
  }
  TrainConfig c = saved;
  apply_json(c, allowed);
  return c;
}

TrainResult train(const TrainConfig& cfg, const TrainOptions& opt) {
  CG_USER_CHECK(!opt.out.empty(), "No run folder given (--out).");
  const CudaMathScope restore;  // the run's precision and algorithm cache end with it
  trainer_detail::Run run(cfg, opt);
  return run.go();
}

}  // namespace cg::gan
