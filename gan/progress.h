// The training progress line: phase, epoch, iteration, losses, images/s and ETA.
// On a terminal one line is rewritten in place a few times a second; otherwise
// (a log file) a full line is printed every log_every iterations.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

#include "gan/acgan.h"

namespace cg::gan {

class Progress {
 public:
  Progress();
  // Records one iteration of batch images that took dt seconds.
  void tick(int64_t step, int batch, double dt);
  double images_per_s() const { return ema_; }  // smoothed
  double mean_images_per_s() const;              // over this invocation
  double elapsed() const;                        // seconds since construction
  bool due(int64_t step, int64_t log_every);
  void print(const std::string& phase, int64_t epoch, int64_t phase_epochs, int64_t step, int64_t planned,
             const StepStats& s, bool genre_terms);
  void finish();  // ends an in-place line

 private:
  std::chrono::steady_clock::time_point start_, last_print_;
  bool tty_;
  bool open_line_ = false;
  double ema_ = 0, images_ = 0, busy_s_ = 0;
  int batch_ = 0;
  int64_t ticks_ = 0;
};

// "1h02m" / "4m05s" / "12s".
std::string format_duration(double seconds);

}  // namespace cg::gan
