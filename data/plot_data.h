// What a plot may be given, made safe before any drawing: non-finite values skipped,
// extreme ones clipped, axis ranges that are finite and not empty, pixel positions that
// stay near the canvas. Kept apart from the rasteriser (data/plot.cpp), so that any
// drawing code can use it: a NaN or 1e308 in metrics.csv or an MS-SSIM list once made
// the line drawing walk 2^31 pixels (covergan plot and eval never finished).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cg::gan {

// Finite values beyond this magnitude are clipped to it: a plot's range stays finite.
inline constexpr double kPlotClip = 1e30;

// What sanitising dropped or changed; note() says it in one line ("" when nothing).
struct PlotNotes {
  int64_t skipped = 0;  // non-finite values left out
  int64_t clipped = 0;  // finite values beyond +-kPlotClip
  void add(const PlotNotes& o) { skipped += o.skipped, clipped += o.clipped; }
  std::string note() const;
};

// Points (x[i], y[i]) with both finite, |values| clipped to kPlotClip; a longer x or y
// is cut to the shorter.
void sanitize_points(std::vector<double>& x, std::vector<double>& y, PlotNotes& notes);
// A value for a box plot or an axis: NaN stays NaN (the caller skips it), infinities and
// finite extremes become +-kPlotClip.
double clip_value(double v, PlotNotes& notes);

// An axis range to draw: finite, lo < hi, and at least a small span (a constant series
// gets a range around its value). Non-finite inputs give [0, 1].
struct AxisRange {
  double lo = 0, hi = 1;
};
AxisRange safe_range(double lo, double hi);
// Ticks from lo to hi every step, at most max_ticks of them (a step too small for the
// range is widened), each finite.
std::vector<double> safe_ticks(double lo, double hi, double step, int max_ticks = 50);

// v on the range r mapped to pixels p_lo..p_hi (p_hi may be less than p_lo: y grows
// downwards), rounded; values outside r land outside but within one canvas span, and NaN
// lands at p_lo, so no drawing loop walks far.
int to_pixel(double v, const AxisRange& r, int p_lo, int p_hi);

}  // namespace cg::gan
