// The training run: datasets and loaders for the two phases (unlabeled
// pretraining without genre terms, then labeled fine-tuning from the pretrained
// weights), the iteration loop, metrics, sample grids, checkpoints, exact resume,
// Ctrl-C and NaN handling. apps/cmd_train.cpp is a thin front end to train().
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "gan/acgan.h"
#include "gan/config.h"

namespace cg::gan {

struct TrainOptions {
  std::string out;                 // the run folder
  bool resume = false;             // continue from the newest checkpoint in out
  bool force = false;              // replace a run already in out
  bool quiet = false;              // no progress lines
  bool handle_signals = true;      // Ctrl-C / SIGTERM write a checkpoint and stop
  double rank_timeout = 600;       // distributed: seconds a rank may keep the others waiting
  // Settings given explicitly (flags, --config file): on --resume only the schedule
  // (epochs, steps, intervals, device, data paths) may change; others must match.
  nlohmann::json overrides = nlohmann::json::object();
};

struct TrainResult {
  int64_t steps = 0;            // iterations completed in all
  int64_t steps_this_run = 0;
  bool interrupted = false;     // stopped by a signal (a checkpoint was written)
  std::string last_checkpoint;
  std::string samples;          // the last sample grid
  double images_per_s = 0;      // mean over this invocation
};

// cfg: the fresh run's settings (ignored on resume apart from the overrides). Throws
// cg::Error with one sentence for bad input and for a non-finite loss.
TrainResult train(const TrainConfig& cfg, const TrainOptions& opt);

// The settings a resumed run uses: the checkpoint's, with the allowed overrides applied.
TrainConfig resume_config(const TrainConfig& saved, const nlohmann::json& overrides);

// The losses a run's settings ask for (genre terms off in pretraining); the spectral term's
// target is left to the caller (the training covers', or a random batch's).
LossConfig loss_config(const TrainConfig& cfg, bool genre_terms = true);

// Derived seeds, so the streams of one run never overlap.
uint64_t derive_seed(uint64_t seed, uint64_t stream);
enum : uint64_t {
  kSeedInit = 1,
  kSeedTrain = 2,
  kSeedSamples = 3,
  kSeedLoaderPretrain = 4,
  kSeedLoaderFinetune = 5,
  kSeedStandingStats = 6,  // then the step: each checkpoint's covers of its own
};

}  // namespace cg::gan
