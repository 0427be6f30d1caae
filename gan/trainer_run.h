// The Run class behind `covergan train` (trainer.h), shared by trainer.cpp (the loop:
// steps, statistics, checkpoints and samples) and trainer_setup.cpp (everything checked
// and built before the first step). Internal to those two files.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "data/dataset.h"
#include "data/holdout.h"
#include "data/loader.h"
#include "engine/folder_lock.h"
#include "engine/philox.h"
#include "gan/augment.h"
#include "gan/checkpoint.h"
#include "gan/distributed.h"
#include "gan/iteration.h"
#include "gan/progress.h"
#include "gan/run_dir.h"
#include "gan/sampler.h"
#include "gan/trainer.h"

namespace cg::gan::trainer_detail {

inline const char* const kPretrain = "pretrain";
inline const char* const kFinetune = "finetune";

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
  Tensor spectral_target_;  // (K,R): G's spectral term's target (--g-spectral), else undefined
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
  void after_update();
  void drain(bool all);
  void report(int64_t step, int64_t epoch, const StepStats& s, double dt);
  std::string halted_message(int64_t step, int64_t epoch, const std::string& term, double value,
                             const std::string& good) const;
  void write_checkpoint(const std::string& path);
  void write_samples();
  void write_plot();
  void announce() const;
  bool pretraining() const { return st_.phase == kPretrain; }
  LossConfig loss_config() const {
    LossConfig lc = gan::loss_config(cfg_, !pretraining());
    lc.spectral_target = spectral_target_;
    return lc;
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
  // How the D step runs D on the real and the generated batch (d_joins_batches), for the
  // start-up line and config.json: a joined batch rounds differently from two calls.
  std::string d_batches_mode() const {
    const int64_t per_rank = cfg_.batch / (dp_.distributed() ? dp_.comm().size() : 1);
    return d_joins_batches(cfg_.model, per_rank, cfg_.sync_bn && dp_.distributed())
               ? "real and generated images as one batch through D's convolutions, batch norms per half"
               : "D on the real and the generated images in two calls";
  }
  bool decaying() const { return cfg_.lr_decay_to > 0; }
  bool stop_requested() const;
  void prepare_folder(bool resuming);
  void log_commit() {
    if (log_) log_->commit();
  }
  void log_flush() {
    if (log_) log_->flush();
  }
};

}  // namespace cg::gan::trainer_detail
