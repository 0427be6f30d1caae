// The progress line (see progress.h).
#include "gan/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace cg::gan {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  char buf[32];
  const long long t = static_cast<long long>(s + 0.5);
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", t / 3600, (t / 60) % 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%llds", t);
  return buf;
}

Progress::Progress()
    : start_(std::chrono::steady_clock::now()), last_print_(start_), tty_(::isatty(STDOUT_FILENO) != 0) {}

void Progress::tick(int64_t, int batch, double dt) {
  batch_ = batch;
  images_ += batch;
  busy_s_ += dt;
  ++ticks_;
  const double ips = dt > 0 ? batch / dt : 0;
  const double w = std::max(0.1, 1.0 / double(ticks_));  // the plain mean until it has 10 points
  ema_ = (1 - w) * ema_ + w * ips;
}

double Progress::mean_images_per_s() const { return busy_s_ > 0 ? images_ / busy_s_ : 0; }

double Progress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

bool Progress::due(int64_t step, int64_t log_every) {
  if (!tty_) return step % log_every == 0;
  const auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_print_).count() < 0.25 && step % log_every != 0) return false;
  last_print_ = now;
  return true;
}

void Progress::print(const std::string& phase, int64_t epoch, int64_t phase_epochs, int64_t step, int64_t planned,
                     const StepStats& s, bool genre_terms) {
  const double eta = ema_ > 0 && batch_ > 0 ? double(planned - step) * batch_ / ema_ : NAN;
  char acc[32] = "";
  if (genre_terms) std::snprintf(acc, sizeof acc, " acc %.2f", s.acc_real);
  std::printf("%s[%s] epoch %lld/%lld step %lld/%lld | D %.3f G %.3f | D(x) %.2f D(G(z)) %.2f%s | %.1f img/s | ETA %s%s",
              tty_ ? "\r" : "", phase.c_str(), static_cast<long long>(std::min(epoch + 1, phase_epochs)), static_cast<long long>(phase_epochs),
              static_cast<long long>(step), static_cast<long long>(planned), s.d_total, s.g_total, s.d_real,
              s.d_fake, acc, ema_, format_duration(eta).c_str(), tty_ ? "\033[K" : "\n");
  open_line_ = tty_;
  std::fflush(stdout);
}

void Progress::finish() {
  if (open_line_) std::printf("\n");
  open_line_ = false;
  std::fflush(stdout);
}

}  // namespace cg::gan
