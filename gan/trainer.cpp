// The training loop (see trainer.h). A Run holds everything one invocation of
// `covergan train` needs; its state between iterations (TrainState, the Adam
// moments, the weights) is exactly what a checkpoint stores, so a resumed run
// computes the same numbers as an uninterrupted one.
#include "gan/trainer.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include "data/dataset.h"
#include "data/grid.h"
#include "data/loader.h"
#include "engine/folder_lock.h"
#include "engine/ema.h"
#include "engine/io_util.h"
#include "engine/philox.h"
#include "gan/checkpoint.h"
#include "gan/distributed.h"
#include "gan/holdout_file.h"
#include "data/plot.h"
#include "gan/iteration.h"
#include "gan/progress.h"
#include "gan/run_dir.h"
#include "gan/sampler.h"

namespace cg::gan {

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

const char* kPretrain = "pretrain";
const char* kFinetune = "finetune";

data::Dataset open_dataset(const std::string& path, const char* role) {
  CG_USER_CHECK(std::filesystem::exists(path), "The ", role, " dataset ", path, " does not exist.");
  data::Dataset ds = data::Dataset::open(path);
  CG_USER_CHECK(ds.info().count > 0, "The ", role, " dataset ", path, " holds no images.");
  CG_USER_CHECK(ds.info().channels == 3, "The ", role, " dataset ", path, " has ", ds.info().channels,
                " channels; the model takes RGB (3).");
  return ds;
}

// What ranks compare to be sure they read the same images: count, size and the stored checksums.
std::string dataset_identity(const data::Dataset& ds) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%lld images of %dx%d, content hash %016llx", static_cast<long long>(ds.info().count),
                ds.info().size, ds.info().size, static_cast<unsigned long long>(ds.content_hash()));
  return buf;
}

class Run {
 public:
  Run(TrainConfig cfg, TrainOptions opt) : cfg_(std::move(cfg)), opt_(std::move(opt)), dir_(opt_.out) {}
  TrainResult go();

 private:
  TrainConfig cfg_;
  TrainOptions opt_;
  RunDir dir_;
  FolderLock lock_;  // held from the first check to the end: one process per run folder
  Device dev_ = Device::cpu;
  data::Dataset labeled_;
  std::optional<data::Dataset> unlabeled_;
  std::unique_ptr<Generator> G_;
  std::unique_ptr<Discriminator> D_;
  std::unique_ptr<Generator> G_ema_;  // the weight average sampling uses (--ema); null when off
  data::HoldoutSplit split_;          // the labeled set's training part and held-out covers
  DiffAugPolicy augment_;
  std::unique_ptr<Adam> opt_g_, opt_d_;
  std::unique_ptr<data::Loader> loader_;
  // One process in f32: the iteration runs as queued device work (a CUDA graph on a GPU),
  // read back a few steps later. Data-parallel and f64 runs step eagerly (rng_, real_).
  std::unique_ptr<IterationRunner> runner_;
  std::unique_ptr<MetricsLog> log_;
  TrainState st_;
  Philox rng_;
  Latents sample_latents_;
  Tensor real_, labels_;
  Progress progress_;
  TrainResult res_;
  int64_t last_ckpt_step_ = -1, last_sample_step_ = -1;
  DataParallel dp_;            // a world of one unless a launcher started several ranks
  bool stop_agreed_ = false;   // distributed: some rank got a signal, all stop after this step
  // Iterations enqueued but not yet read back (their step and epoch), and when the host last read one.
  std::deque<std::pair<int64_t, int64_t>> pending_;
  std::chrono::steady_clock::time_point last_read_ = std::chrono::steady_clock::now();

  void setup(std::optional<Checkpoint>& ck, std::optional<Checkpoint>& init);
  void open_data(bool resuming);
  void split_labeled(bool resuming);
  void build_ema(const Checkpoint* resume_from);
  void draw_d_inputs(StepBatch& b);
  void build(const Checkpoint* resume_from, const Checkpoint* init_from);
  void make_optimizers();
  void make_loader(int64_t epoch, int64_t batch_index);
  void make_runner();
  void switch_to_finetune();
  void apply_lr_schedule();
  void one_step();
  void one_step_eager();
  void drain(bool all);
  void report(int64_t step, int64_t epoch, const StepStats& s, double dt);
  void write_checkpoint(const std::string& path);
  void write_samples();
  void write_plot();
  void announce() const;
  bool pretraining() const { return st_.phase == kPretrain; }
  LossConfig loss_config() const {
    return LossConfig{!pretraining(), cfg_.lambda_code, cfg_.real_label, cfg_.g_genre_weight, cfg_.d_fake_genre_weight};
  }
  int64_t phase_epochs() const { return pretraining() ? cfg_.pretrain_epochs : cfg_.epochs; }
  int64_t planned_steps() const;
  DType dtype() const { return cfg_.dtype == "f64" ? DType::f64 : DType::f32; }
  // DiffAugment and instance noise draw each batch's transforms on the host (draw_d_inputs).
  bool host_drawn_inputs() const { return augment_.any() || cfg_.instance_noise > 0; }
  bool queued() const { return !dp_.distributed() && dtype() == DType::f32 && !host_drawn_inputs(); }  // runner_ steps
  // "CUDA graph" or "eager (why)": the start-up line and config.json say which.
  std::string iteration_mode() const {
    if (!queued())
      return dp_.distributed()       ? "eager (data-parallel)"
             : dtype() != DType::f32 ? "eager (f64)"
                                     : "eager (--augment or --instance-noise draw each batch on the host)";
    if (dev_ == Device::cuda && cfg_.graph && decaying())
      return "eager (--lr-decay-from changes the learning rates every iteration, which a replayed CUDA graph "
             "would not see)";
    return describe(choose_graph(cfg_.graph, dev_, cfg_.model.d_dropout));
  }
  bool decaying() const { return cfg_.lr_decay_to > 0; }
  bool stop_requested() const { return dp_.distributed() ? stop_agreed_ : g_signal != 0; }
  void prepare_folder(bool resuming);
  void log_commit() {
    if (log_) log_->commit();
  }
  void log_flush() {
    if (log_) log_->flush();
  }
};

// Dataset and --init paths are stored absolute, so --resume works from any folder.
std::string absolute_path(const std::string& p) {
  if (p.empty()) return p;
  std::error_code ec;
  const std::filesystem::path a = std::filesystem::absolute(p, ec);
  return ec ? p : a.lexically_normal().string();
}

void Run::open_data(bool resuming) {
  if (!resuming) {
    cfg_.data = absolute_path(cfg_.data);
    cfg_.pretrain = absolute_path(cfg_.pretrain);
    cfg_.init = cfg_.init.empty() ? cfg_.init : absolute_path(resolve_checkpoint(cfg_.init));  // a run: its newest
  } else {
    CG_USER_CHECK(std::filesystem::exists(cfg_.data), "Cannot resume: the labeled dataset ", cfg_.data,
                  " this run was trained on does not exist (from here); pass --data with its current path.");
    CG_USER_CHECK(cfg_.pretrain.empty() || cfg_.pretrain_epochs == 0 || std::filesystem::exists(cfg_.pretrain),
                  "Cannot resume: the pretraining set ", cfg_.pretrain,
                  " this run was trained on does not exist (from here); pass --pretrain with its current path.");
  }
  labeled_ = open_dataset(cfg_.data, "labeled");
  const auto& info = labeled_.info();
  CG_USER_CHECK(info.labeled(), "The dataset ", cfg_.data,
                " has no genre labels; give the labeled set with --data and an unlabeled one with --pretrain.");
  if (resuming) {
    CG_USER_CHECK(info.genres == cfg_.genres && info.size == cfg_.model.image_size, "The dataset ", cfg_.data,
                  " (", info.size, "x", info.size, ", ", info.genres.size(),
                  " genres) is not the one this run was trained on (", cfg_.model.image_size, "x",
                  cfg_.model.image_size, ", ", cfg_.genres.size(), " genres).");
  } else {
    cfg_.genres = info.genres;
    cfg_.model.num_genres = int(info.genres.size());
    cfg_.model.image_size = info.size;
  }
  if (!resuming) {  // the file's identity, so eval and --resume can tell it changed
    cfg_.data_bytes = labeled_.file_bytes();
    cfg_.data_fingerprint = labeled_.fingerprint();
  } else if (!cfg_.data_fingerprint.empty()) {
    CG_USER_CHECK(labeled_.file_bytes() == cfg_.data_bytes && labeled_.fingerprint() == cfg_.data_fingerprint,
                  "Cannot resume: the dataset ", cfg_.data, " is not the file this run trained on (that was ",
                  cfg_.data_bytes, " bytes with fingerprint ", cfg_.data_fingerprint, ", this is ",
                  labeled_.file_bytes(), " bytes with fingerprint ", labeled_.fingerprint(),
                  "); pass --data with the run's training file.");
  }
  const std::vector<int64_t> counts = labeled_.genre_counts();
  for (size_t g = 0; g < counts.size(); ++g)
    CG_USER_CHECK(counts[g] > 0, "The genre '", info.genres[g], "' has no images in ", cfg_.data,
                  "; D could never learn it. Prepare the set again without that genre.");
  if (!cfg_.pretrain.empty() && cfg_.pretrain_epochs > 0) {
    unlabeled_ = open_dataset(cfg_.pretrain, "pretraining");
    CG_USER_CHECK(unlabeled_->info().size == info.size, "The pretraining set ", cfg_.pretrain, " holds ",
                  unlabeled_->info().size, "x", unlabeled_->info().size, " images but the labeled set ", cfg_.data,
                  " holds ", info.size, "x", info.size, ".");
  }
  cfg_.validate();
  augment_ = parse_diffaug_policy(cfg_.augment);
  split_labeled(resuming);
}

// The holdout (data/holdout.h): the loader draws from split_.train only. The split is a
// function of the covers' pixels and the seed, so a resume recomputes it; holdout.json
// records it, and a resume whose set no longer gives the same split is refused.
void Run::split_labeled(bool resuming) {
  split_ = data::holdout_split(labeled_, cfg_.holdout, cfg_.holdout_seed);
  if (resuming)
    check_holdout_record(dir_.path("holdout.json"),
                         holdout_record(split_, cfg_.holdout, cfg_.holdout_seed, cfg_.genres, cfg_.data));
}

// G's weight average starts as G's weights (after --init) and, on resume, is the checkpoint's.
void Run::build_ema(const Checkpoint* ck) {
  if (cfg_.ema <= 0) return;
  G_ema_ = std::make_unique<Generator>(cfg_.model, dev_, dtype());
  if (ck) {
    CG_USER_CHECK(ck->has_ema(), "Cannot resume: the checkpoint ", ck->path(), " holds no weight average (G_ema) although the run has ema ", cfg_.ema, ".");
    ck->restore_ema(*G_ema_);
  } else {
    G_ema_->params().flat().copy_(G_->params().flat());
    G_ema_->params().flat_buffers().copy_(G_->params().flat_buffers());
  }
}

// The three D calls' inputs (augmentation, instance noise), drawn after the latents.
void Run::draw_d_inputs(StepBatch& b) {
  if (!augment_.any() && cfg_.instance_noise <= 0) return;
  for (DInput* in : {&b.real_in, &b.fake_in_d, &b.fake_in_g})
    *in = draw_d_input(rng_, cfg_, augment_, st_.step, cfg_.batch, dev_, dtype());
}

void Run::make_optimizers() {
  const PhaseLr lr = pretraining() ? cfg_.lr_pretrain : cfg_.lr_finetune;
  opt_g_ = std::make_unique<Adam>(G_->params(), AdamConfig{lr.g, cfg_.beta1, cfg_.beta2, cfg_.adam_eps});
  opt_d_ = std::make_unique<Adam>(D_->params(), AdamConfig{lr.d, cfg_.beta1, cfg_.beta2, cfg_.adam_eps});
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

void Run::make_loader(int64_t epoch, int64_t batch_index) {
  loader_.reset();  // one producer thread at a time
  const bool pre = pretraining();
  data::LoaderConfig lc{cfg_.batch, derive_seed(cfg_.seed, pre ? kSeedLoaderPretrain : kSeedLoaderFinetune), dev_,
                        cfg_.hflip};
  std::tie(lc.slice_begin, lc.slice_end) = dp_.slice(cfg_.batch);  // this rank's rows of each batch
  // Fine-tuning draws from the labeled set's training part only (the holdout stays unseen).
  std::vector<int64_t> part = !pre && !split_.held_out.empty() ? split_.train : std::vector<int64_t>{};
  loader_ = std::make_unique<data::Loader>(pre ? *unlabeled_ : labeled_, lc, std::move(part));
  if (epoch != 0 || batch_index != 0) loader_->set_position(epoch, batch_index);
}

void Run::build(const Checkpoint* ck, const Checkpoint* start) {
  const auto [lo, hi] = dp_.slice(cfg_.batch);
  // On a GPU the host still holds a copy of every tensor while a checkpoint is written.
  const double need = dev_ == Device::cpu ? training_memory_bytes(cfg_.model, hi - lo)
                                          : 4.0 * 4.0 * double(cfg_.model.generator_params() +
                                                               cfg_.model.discriminator_params());
  check_memory(need,
               detail::cat("Training this model (base_channels ", cfg_.model.base_channels, ", ",
                           cfg_.model.image_size, "x", cfg_.model.image_size, ", batch ", cfg_.batch, ")"),
               "lower --base-channels or --batch.");
  CG_USER_CHECK(dtype() == DType::f32 || dev_ == Device::cpu, "Training in f64 runs on the CPU only; pass --device cpu.");
  // Each D input's augmentation and noise are drawn for the whole batch; a rank would need its rows of them.
  CG_USER_CHECK(!dp_.distributed() || (!augment_.any() && cfg_.instance_noise <= 0),
                "--augment and --instance-noise run in one process only, not data-parallel.");
  // After the memory check, so an absurd width is named before a small set.
  CG_USER_CHECK(int64_t(split_.train.size()) >= cfg_.batch, "The labeled set ", cfg_.data, " keeps ",
                split_.train.size(), " covers for training after holding out ", split_.held_out.size(),
                " (--holdout ", cfg_.holdout, "), fewer than one batch of ", cfg_.batch, ".");
  // The run's arithmetic; measured cuDNN algorithms are kept beside the run.
  use_cuda_math(cfg_.precision, cfg_.deterministic, dev_, dev_ == Device::cuda ? dir_.path("cudnn_algos.txt") : "");
  G_ = std::make_unique<Generator>(cfg_.model, dev_, dtype());
  D_ = std::make_unique<Discriminator>(cfg_.model, dev_, dtype());
  if (ck) {
    ck->restore(*G_);
    ck->restore(*D_);
    st_ = ck->state();
    CG_USER_CHECK(st_.phase == kFinetune || unlabeled_, "The checkpoint ", ck->path(),
                  " stopped during pretraining but this run has no pretraining set.");
    make_optimizers();
    ck->restore_optimizers(*opt_g_, *opt_d_);
    rng_ = Philox(st_.rng_seed, st_.rng_offset);
    make_loader(st_.epoch, st_.batch_in_epoch);
    last_ckpt_step_ = st_.step;
  } else {
    Philox init(derive_seed(cfg_.seed, kSeedInit));
    G_->init(init);
    D_->init(init);
    if (start) {  // --init: another run's weights
      start->check_fits(cfg_.model, cfg_.genres);
      start->restore(*G_);
      start->restore(*D_);
    }
    st_ = TrainState{};
    st_.phase = unlabeled_ ? kPretrain : kFinetune;
    st_.rng_seed = derive_seed(cfg_.seed, kSeedTrain);
    rng_ = Philox(st_.rng_seed, 0);
    make_optimizers();
    make_loader(0, 0);
  }
  build_ema(ck);
  make_runner();
  Philox srng(derive_seed(cfg_.seed, kSeedSamples));
  sample_latents_ = genre_rows(cfg_.model, cfg_.sample_cols, /*shared=*/true, srng);
}

int64_t Run::planned_steps() const {
  int64_t total = 0;
  if (unlabeled_) total += cfg_.pretrain_epochs * (unlabeled_->info().count / cfg_.batch);
  total += cfg_.epochs * (int64_t(split_.train.size()) / cfg_.batch);
  return cfg_.steps > 0 ? std::min(total, cfg_.steps) : total;
}

void Run::announce() const {
  if (opt_.quiet) return;
  const auto& m = cfg_.model;
  std::string genres;
  for (const auto& g : cfg_.genres) genres += (genres.empty() ? "" : ", ") + g;
  std::printf("covergan train: %dx%d images, %d genres (%s), base %d channels\n", m.image_size, m.image_size,
              m.num_genres, genres.c_str(), m.base_channels);
  std::printf("  G %.2fM parameters, D %.2fM parameters, batch %d, device %s, seed %llu\n",
              double(G_->params().num_params()) / 1e6, double(D_->params().num_params()) / 1e6, cfg_.batch,
              device_name(dev_), static_cast<unsigned long long>(cfg_.seed));
  if (unlabeled_)
    std::printf("  phase 1 pretrain: %s, %lld images, %lld epochs, lr G %g D %g (no genre terms)\n",
                cfg_.pretrain.c_str(), static_cast<long long>(unlabeled_->info().count),
                static_cast<long long>(cfg_.pretrain_epochs), cfg_.lr_pretrain.g, cfg_.lr_pretrain.d);
  std::printf("  phase 2 finetune: %s, %lld images, %lld epochs, lr G %g D %g\n", cfg_.data.c_str(),
              static_cast<long long>(split_.train.size()), static_cast<long long>(cfg_.epochs), cfg_.lr_finetune.g,
              cfg_.lr_finetune.d);
  if (decaying())
    std::printf("  learning rates: falling linearly to 0 from iteration %lld to %lld (--lr-decay-from)\n",
                static_cast<long long>(cfg_.lr_decay_from), static_cast<long long>(cfg_.lr_decay_to));
  std::printf("  iteration: %s\n", iteration_mode().c_str());
  if (dp_.distributed())
    std::printf("  data-parallel: %s; %d images per rank, batch norm over %s\n", dp_.summary(dev_).c_str(),
                cfg_.batch / dp_.comm().size(), cfg_.sync_bn ? "the global batch (--sync-bn)" : "each rank's slice");
  if (!split_.held_out.empty())
    std::printf("  held out for evaluation: %lld covers (%g of each genre, seed %llu; RUN/holdout.json)\n",
                static_cast<long long>(split_.held_out.size()), cfg_.holdout,
                static_cast<unsigned long long>(cfg_.holdout_seed));
  if (augment_.any() || cfg_.ema > 0 || cfg_.real_label < 1 || cfg_.instance_noise > 0 || cfg_.g_genre_weight != 1 ||
      cfg_.d_fake_genre_weight != 1)
    std::printf("  recipe: augment %s, ema %g, real label %g, instance noise %g, genre weights G %g, D on fakes %g\n",
                augment_.any() ? augment_.str().c_str() : "none", cfg_.ema, cfg_.real_label, cfg_.instance_noise,
                cfg_.g_genre_weight, cfg_.d_fake_genre_weight);
  if (const int64_t warm = cfg_.ema > 0 ? ema_warmup_updates(cfg_.ema) : 0; planned_steps() < warm)
    std::printf("  weight average: its warm-up, decay min(%g, (1+t)/(10+t)), reaches %g only at step %lld; this run's "
                "last update uses %.4f, so a larger --ema changes nothing here\n",
                cfg_.ema, cfg_.ema, static_cast<long long>(warm), ema_decay_at(cfg_.ema, planned_steps() - 1));
  std::printf("  run folder %s: %lld iterations planned%s\n", opt_.out.c_str(),
              static_cast<long long>(planned_steps()),
              st_.step > 0 ? (" (resuming at step " + std::to_string(st_.step) + ")").c_str() : "");
  std::fflush(stdout);
}

void Run::make_runner() {
  runner_.reset();  // its graph and memory pool go before the new one is made
  if (!queued()) return;
  runner_ = std::make_unique<IterationRunner>(*G_, *D_, *opt_g_, *opt_d_, loss_config(), cfg_.batch, st_.rng_seed,
                                              rng_.offset(), RunnerOptions{cfg_.graph && !decaying(), 8});
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
  // Queued after the iteration on the same stream, so it averages the weights Adam just wrote.
  if (G_ema_) ema_update(G_ema_->params(), G_->params(), ema_decay_at(cfg_.ema, st_.step));
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

void Run::report(int64_t step, int64_t epoch, const StepStats& s, double dt) {
  if (s.halted) {
    log_flush();
    const std::string good = dir_.latest_checkpoint();
    throw Error(detail::cat("Training stopped at iteration ", step, " (", st_.phase, ", epoch ",
                            std::min(epoch + 1, phase_epochs()), "): the loss term ", halted_term(s.halted), " is ",
                            halted_value(s), " (not finite), so no weights were updated with it; ",
                            good.empty() ? std::string("no checkpoint had been written yet")
                                         : "the last good checkpoint is " + good,
                            ". Lower the learning rates or check the data."));
  }
  progress_.tick(step, cfg_.batch, dt);
  if (log_) log_->append(step, st_.phase, epoch, s, progress_.images_per_s(), progress_.elapsed());
  if (progress_.due(step, cfg_.log_every)) {
    if (!opt_.quiet) progress_.print(st_.phase, epoch, phase_epochs(), step, planned_steps(), s, !pretraining());
    log_flush();  // quiet too: a live page (covergan serve) sees the rows as they come
  }
}

// The eager iteration (data-parallel or f64): one train_step, its statistics read at once.
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
    const std::string good = dp_.root() ? dir_.latest_checkpoint() : "";
    throw AgreedError(detail::cat("Training stopped at iteration ", st_.step + 1, " (", st_.phase, ", epoch ",
                            std::min(loader_->epoch() + 1, phase_epochs()), "): the loss term ", e.term, " is ",
                            e.value, " (not finite), so no weights were updated with it; ",
                            good.empty() ? std::string("no checkpoint had been written yet")
                                         : "the last good checkpoint is " + good,
                            ". Lower the learning rates or check the data."));
  }
  if (G_ema_) ema_update(G_ema_->params(), G_->params(), ema_decay_at(cfg_.ema, st_.step));
  ++st_.step;
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  progress_.tick(st_.step, cfg_.batch, dt);
  if (log_) log_->append(st_.step, st_.phase, loader_->epoch(), s, progress_.images_per_s(), progress_.elapsed());
  if (progress_.due(st_.step, cfg_.log_every)) {
    if (!opt_.quiet)
      progress_.print(st_.phase, loader_->epoch(), phase_epochs(), st_.step, planned_steps(), s, !pretraining());
    log_flush();  // quiet too: a live page (covergan serve) sees the rows as they come
  }
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

// Rank 0 alone touches the run folder: the new folder, config.json and metrics.csv.
void Run::prepare_folder(bool resuming) {
  if (!resuming) dir_.prepare_fresh(opt_.force);  // touch the folder only once all input checked out
  if (resuming) dir_.prepare_resume();            // leftovers of a killed run go; deleted folders come back
  nlohmann::json j = to_json(cfg_);
  j["device"] = device_name(dev_);
  j["precision"] = precision_name(resolve_precision(cfg_.precision, dev_));
  j["iteration"] = iteration_mode();  // a record of how it ran, not a setting (read back, ignored)
  std::string text;
  try {
    text = j.dump(2) + "\n";
  } catch (const nlohmann::json::exception&) {
    throw Error("A setting or genre name of this run is not UTF-8 text, so " + dir_.path("config.json") +
                " cannot be written.");
  }
  write_file_atomic(dir_.path("config.json"), text, "the run's settings");
  if (!resuming)
    write_file_atomic(dir_.path("holdout.json"),
                      holdout_record(split_, cfg_.holdout, cfg_.holdout_seed, cfg_.genres, cfg_.data).dump(1) + "\n",
                      "the run's holdout");
  log_ = std::make_unique<MetricsLog>(dir_.path("metrics.csv"), resuming ? st_.step : -1);
}

// Every check before the folder is touched. Rank 0 takes the folder's lock first, so a
// second `train` on it fails at once and two can never both pass the "already holds a
// run" test; a failure before any write releases it (and removes a folder it created).
void Run::setup(std::optional<Checkpoint>& ck, std::optional<Checkpoint>& init) {
  Comm& comm = dp_.comm();
  comm.agree(
      [&] {
        CG_USER_CHECK(!opt_.resume || std::filesystem::is_directory(opt_.out), "Cannot resume: the folder ",
                      opt_.out, " does not exist.");
        lock_ = FolderLock(opt_.out, opt_.resume ? "train --resume" : "train");
      },
      "locking the run folder", /*only_root=*/true);
  try {
    if (opt_.resume) {
      std::string latest;
      comm.agree(
          [&] {
            latest = dir_.latest_checkpoint();
            CG_USER_CHECK(!latest.empty(), "Cannot resume: ", opt_.out,
                          " holds no checkpoint (checkpoints/step_*.safetensors).");
          },
          "finding the checkpoint", /*only_root=*/true);
      comm.broadcast(latest, "broadcast checkpoint path");
      ck = dp_.load_checkpoint(latest);  // read on rank 0, sent to the others
      comm.agree([&] { cfg_ = resume_config(ck->config(), opt_.overrides); }, "resuming the settings");
    }
    comm.agree([&] { if (!ck) dir_.check_fresh(opt_.force); }, "checking the run folder", true);  // refuse before any work
    comm.agree([&] { open_data(ck.has_value()); }, "opening the datasets");
    comm.agree([&] { dev_ = resolve_device(cfg_.device, !opt_.quiet); }, "choosing the device");
    dp_.check_same({{"build of covergan", build_fingerprint()},
                    {"configuration", shared_settings(cfg_, dev_)},
                    {"labeled dataset", dataset_identity(labeled_)},
                    {"pretraining set", unlabeled_ ? dataset_identity(*unlabeled_) : "none"},
                    {"starting point", ck ? "a checkpoint of this run" : cfg_.init.empty() ? "fresh weights" : "--init"}});
    if (!ck && !cfg_.init.empty()) init = dp_.load_checkpoint(cfg_.init);  // rank 0's file, for all
    if (dp_.distributed() && dev_ == Device::cuda) comm.agree([&] { comm.use_gpu(); }, "choosing the GPUs");
    comm.agree([&] { build(ck ? &*ck : nullptr, init ? &*init : nullptr); }, "building the model");
  } catch (...) {
    lock_.release_and_remove_if_empty();  // a folder this run created and never used goes again
    throw;
  }
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

}  // namespace

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
  Run run(cfg, opt);
  return run.go();
}

}  // namespace cg::gan
