// A training run's folder: refusing to mix two runs in one folder, the rotating
// checkpoints, and metrics.csv (cut back to the resumed checkpoint's step on
// --resume, so the file reads like one uninterrupted run).
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "gan/acgan.h"

namespace cg::gan {

class RunDir {
 public:
  explicit RunDir(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }
  std::string path(const std::string& rel) const { return root_ + "/" + rel; }

  // True when the folder holds files of a run (config.json, metrics.csv, checkpoints).
  bool holds_run() const;
  // Throws (one sentence) when the folder holds another run and force is off.
  void check_fresh(bool force) const;
  // A fresh run: check_fresh, then with force removes the old run's own files (never
  // anything else), and creates the folder layout.
  void prepare_fresh(bool force) const;
  // Before a resumed run: removes the temporary files a killed run left (NAME.tmp-PID-N of
  // its checkpoints, samples, metrics.csv, config.json; the older NAME.tmp too) and
  // recreates checkpoints/ and samples/ if deleted.
  void prepare_resume() const;
  // Checkpoints in checkpoints/ as (step, path), ascending by step.
  std::vector<std::pair<int64_t, std::string>> checkpoints() const;
  std::string latest_checkpoint() const;  // "" when none
  std::string checkpoint_path(int64_t step) const;
  std::string sample_path(int64_t step) const;
  // Deletes all but the newest keep step checkpoints.
  void rotate_checkpoints(int keep) const;

 private:
  std::string root_;
};

// What every --ckpt (and train --init, covergan info) takes: a checkpoint file, returned
// as given, or a run folder, meaning its newest checkpoint. One sentence when the path does
// not exist or the folder holds no checkpoint. run_dir, when given, receives the run folder:
// the one named, or RUN for a checkpoint in RUN/checkpoints/ (else "").
std::string resolve_checkpoint(const std::string& ckpt_or_run, std::string* run_dir = nullptr);

// One row per iteration; the file is flushed at every progress report and committed
// (flushed and fsynced) before every checkpoint, so a checkpoint never covers a step
// whose row is not on disk.
class MetricsLog {
 public:
  static const char* header();
  // Opens RUN/metrics.csv; resume_step >= 0 keeps only the complete rows up to that
  // step (and fills history with them), else starts a new file.
  MetricsLog(const std::string& path, int64_t resume_step);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;
  void append(int64_t step, const std::string& phase, int64_t epoch, const StepStats& s, double images_per_s,
              double time_s);
  void flush();
  void commit();  // flush and fsync
  // (step, d_total, g_total) of every row: the loss plot.
  std::vector<double> steps, d_loss, g_loss;

 private:
  std::string path_;
  FILE* f_ = nullptr;
};

}  // namespace cg::gan
