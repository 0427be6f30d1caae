// `covergan eval` as a library call: MS-SSIM per genre (real-real, real-generated,
// generated-generated), D's genre accuracy on generated and on real covers, the
// baseline classifier on real held-out and on generated covers, the genre sweep,
// sample grids and training curves. Every number goes into report.json, from which
// eval_report.h writes report.html.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace cg::gan {

// What eval drew and predicted, handed to a caller that asks (tests recompute eval's
// numbers from it); never written to the report.
struct EvalTrace {
  Tensor generated;                     // (N,3,S,S) host f32 in [-1,1], in the order drawn
  std::vector<int32_t> genres;          // (N) the genre each cover was generated with
  int64_t batch = 0;                    // covers per generator batch
  uint64_t rng_seed = 0;                // the Philox stream of the latents ...
  std::vector<uint64_t> batch_offsets;  // ... and its offset at the start of each batch
  std::vector<int32_t> d_predicted;     // (N) D's genre prediction for each cover
};

struct EvalOptions {
  std::string ckpt;        // a checkpoint file or a run folder (its newest checkpoint)
  std::string data;        // the labeled set (.cgd)
  std::string out;         // the report folder
  std::string classifier;  // classifier file or folder; "" = cross-validate one here
  int pairs = 1000;        // MS-SSIM pairs per genre and kind
  int generated = 200;     // generated covers per genre
  int folds = 5;           // baseline cross-validation folds, and the chunks of the accuracies' std
  int classifier_epochs = 4;
  int real_per_genre = 0;  // 0: all of a genre's covers in the MS-SSIM pool
  uint64_t seed = 1;
  std::string device = "cpu";
  bool quiet = false;
  EvalTrace* trace = nullptr;  // filled when given
  // MS-SSIM beside the paper's 5 scales: "" (auto for covers under 64 px, none otherwise),
  // "auto" (as many scales as keep the coarsest >= 8 px) or a number 1..5.
  std::string msssim_scales;
  bool ema = true;      // sample from G's weight average when the checkpoint has one
  // G's batch norm while sampling: false (the default) the statistics of each batch of
  // mixed genres, as in training; true the running statistics, as `covergan generate`
  // draws covers by default.
  bool bn_running = false;
  int bootstrap = 50;   // resamples of the Fréchet distances' intervals
};

// Runs the evaluation, writes the pictures, report.json and report.html into out;
// returns the report's JSON. Every input and the output folder are checked before the
// first long step; the folder is locked while eval writes into it (engine/folder_lock.h),
// and a folder eval created is removed again when it fails.
nlohmann::json run_eval(const EvalOptions& opt);

}  // namespace cg::gan
