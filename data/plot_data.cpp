// Sanitising plot data (see plot_data.h).
#include "data/plot_data.h"

#include <algorithm>
#include <cmath>

namespace cg::gan {

std::string PlotNotes::note() const {
  std::string s;
  if (skipped > 0) s = std::to_string(skipped) + " non-finite value" + (skipped == 1 ? "" : "s") + " skipped";
  if (clipped > 0)
    s += (s.empty() ? "" : ", ") + std::to_string(clipped) + " value" + (clipped == 1 ? "" : "s") +
         " beyond +-1e30 clipped";
  return s;
}

double clip_value(double v, PlotNotes& notes) {
  if (std::isnan(v)) return v;
  if (std::fabs(v) <= kPlotClip) return v;
  ++notes.clipped;
  return v > 0 ? kPlotClip : -kPlotClip;
}

void sanitize_points(std::vector<double>& x, std::vector<double>& y, PlotNotes& notes) {
  const size_t n = std::min(x.size(), y.size());
  size_t k = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) {
      ++notes.skipped;
      continue;
    }
    x[k] = clip_value(x[i], notes);
    y[k] = clip_value(y[i], notes);
    ++k;
  }
  x.resize(k);
  y.resize(k);
}

AxisRange safe_range(double lo, double hi) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi) return {};
  lo = std::clamp(lo, -kPlotClip, kPlotClip), hi = std::clamp(hi, -kPlotClip, kPlotClip);
  // At least a part in 1e9 of the magnitude, and 1 for a series that sits at 0.
  const double span = std::max({std::fabs(lo), std::fabs(hi), 1.0}) * 1e-9;
  if (hi - lo < span) {
    const double mid = lo / 2 + hi / 2, half = std::max(0.5 * span, std::max(std::fabs(mid) * 0.05, 0.5));
    return {mid - half, mid + half};
  }
  return {lo, hi};
}

std::vector<double> safe_ticks(double lo, double hi, double step, int max_ticks) {
  const AxisRange r = safe_range(lo, hi);
  if (!std::isfinite(step) || step <= 0 || (r.hi - r.lo) / step > max_ticks) step = (r.hi - r.lo) / max_ticks;
  std::vector<double> t;
  for (int i = 0; i <= max_ticks; ++i) {  // by index: lo + i*step, never an accumulating sum
    const double v = r.lo + i * step;
    if (v > r.hi + step * 1e-6) break;
    t.push_back(v);
  }
  return t;
}

int to_pixel(double v, const AxisRange& r, int p_lo, int p_hi) {
  if (std::isnan(v)) return p_lo;
  const double span = std::fabs(double(p_hi) - double(p_lo)) + 1;
  const double f = (v - r.lo) / (r.hi - r.lo);  // r is finite and non-empty: f is finite or +-inf
  const double p = double(p_lo) + std::clamp(f, -1.0, 2.0) * (double(p_hi) - double(p_lo));
  return int(std::lround(std::clamp(p, std::min<double>(p_lo, p_hi) - span, std::max<double>(p_lo, p_hi) + span)));
}

}  // namespace cg::gan
