// The line and box plots (see plot.h), drawn on data/chart.
#include "data/plot.h"

#include "data/plot_data.h"

#include <algorithm>
#include <cmath>

#include "base/check.h"
#include "data/chart.h"

namespace cg::gan {
namespace {

using data::Chart;
using data::Rgb;
using Align = Chart::Align;

constexpr Rgb kInk{30, 30, 30}, kAxis{110, 110, 110}, kGrid{228, 228, 228}, kMuted{90, 90, 90}, kWarn{170, 30, 30},
              kMark{120, 120, 120};
constexpr double kTitle = 15, kLabel = 12.5, kTick = 11.5, kLegend = 12;

// Mean y of the points falling into each of n columns over [x0, x1]; NaN where none.
std::vector<double> bucket(const PlotSeries& s, double x0, double x1, int n) {
  std::vector<double> sum(size_t(n), 0.0), cnt(size_t(n), 0.0);
  for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
    if (!std::isfinite(s.y[i]) || !std::isfinite(s.x[i])) continue;
    const int b = x1 > x0 ? std::clamp(int((s.x[i] - x0) / (x1 - x0) * (n - 1) + 0.5), 0, n - 1) : 0;
    sum[size_t(b)] += s.y[i];
    cnt[size_t(b)] += 1;
  }
  for (int b = 0; b < n; ++b) sum[size_t(b)] = cnt[size_t(b)] > 0 ? sum[size_t(b)] / cnt[size_t(b)] : NAN;
  return sum;
}

// The plot area of a panel and its data ranges.
struct Frame {
  double left, top, w, h;  // pixels
  double x0, x1, y0, y1;   // data
  double px(double x) const { return left + (x1 > x0 ? (x - x0) / (x1 - x0) : 0.5) * w; }
  double py(double y) const { return top + (y1 - y) / (y1 - y0) * h; }
};

// Grid lines, the frame, ticks with labels on both axes, axis labels and the title.
void draw_axes(Chart& c, const Frame& f, const std::string& title, const std::string& x_label,
               const std::string& y_label, bool x_ticks_integral) {
  const auto yt = data::nice_ticks(f.y0, f.y1, std::max(3, int(f.h / 45)));
  auto xt = data::nice_ticks(f.x0, f.x1, std::max(3, int(f.w / 110)));
  if (x_ticks_integral && xt.size() > 1 && xt[1] - xt[0] < 1) xt = {f.x0, f.x1};
  const double ystep = yt.size() > 1 ? yt[1] - yt[0] : 1, xstep = xt.size() > 1 ? xt[1] - xt[0] : 1;
  for (double t : yt) {
    if (t < f.y0 || t > f.y1) continue;
    const double y = std::round(f.py(t)) + 0.5;
    c.line(f.left, y, f.left + f.w, y, kGrid);
    c.line(f.left - 4, y, f.left, y, kAxis);
    c.text(f.left - 7, y + kTick * 0.35, data::tick_label(t, ystep), kTick, kInk, Align::right);
  }
  for (double t : xt) {
    if (t < f.x0 || t > f.x1) continue;
    const double x = std::round(f.px(t)) + 0.5;
    c.line(x, f.top, x, f.top + f.h, kGrid);
    c.line(x, f.top + f.h, x, f.top + f.h + 4, kAxis);
    c.text(x, f.top + f.h + 6 + kTick, data::tick_label(t, xstep), kTick, kInk, Align::center);
  }
  c.rect(f.left + 0.5, f.top + 0.5, f.w, f.h, kAxis, false);
  c.text(f.left, f.top - 10, title, kTitle, kInk, Align::left, true);
  if (!x_label.empty()) c.text(f.left + f.w / 2, f.top + f.h + 14 + 2 * kTick, x_label, kLabel, kMuted, Align::center);
  if (!y_label.empty()) c.text(16, f.top + f.h / 2, y_label, kLabel, kMuted, Align::center, false, -90);
}

// Legend entries (a colour swatch or line and a name) right-aligned in rows inside the
// plot's top edge, on a translucent white box so curves under it stay visible.
void draw_legend(Chart& c, const Frame& f, const std::vector<std::pair<std::string, Rgb>>& entries, bool swatches) {
  if (entries.empty()) return;
  const double pad = 6, sw = 18, gap = 14, row_h = kLegend + 6, max_w = f.w - 2 * pad;
  std::vector<std::vector<size_t>> rows(1);
  std::vector<double> row_w(1, 0);
  for (size_t i = 0; i < entries.size(); ++i) {
    const double w = sw + 5 + c.text_width(entries[i].first, kLegend);
    if (!rows.back().empty() && row_w.back() + gap + w > max_w) rows.emplace_back(), row_w.push_back(0);
    row_w.back() += (rows.back().empty() ? 0 : gap) + w;
    rows.back().push_back(i);
  }
  const double box_w = *std::max_element(row_w.begin(), row_w.end()) + 2 * pad;
  const double bx = f.left + f.w - box_w - 4, by = f.top + 4;
  c.rect(bx, by, box_w, double(rows.size()) * row_h + pad, {255, 255, 255}, true, 0.85);
  c.rect(bx + 0.5, by + 0.5, box_w, double(rows.size()) * row_h + pad, kGrid, false);
  for (size_t r = 0; r < rows.size(); ++r) {
    double x = bx + pad + (box_w - 2 * pad - row_w[r]);
    const double y = by + pad / 2 + double(r) * row_h + row_h / 2;
    for (size_t i : rows[r]) {
      if (swatches) c.rect(x, y - 5, sw, 10, entries[i].second);
      else c.line(x, y, x + sw, y, entries[i].second, 2.5);
      c.text(x + sw + 5, y + kLegend * 0.36, entries[i].first, kLegend, kInk);
      x += sw + 5 + c.text_width(entries[i].first, kLegend) + gap;
    }
  }
}

// The panel's series, sanitised (non-finite points skipped, extremes clipped): a range of
// +-1e308 once overflowed and the drawing never finished.
PlotNotes draw_line_panel(Chart& c, const LinePanel& p_in, double top, double height) {
  const double left = 78, right = 18, title_h = 34, bottom = 50;
  LinePanel p = p_in;
  PlotNotes notes;
  for (auto& s : p.series) sanitize_points(s.x, s.y, notes);
  Frame f{left, top + title_h, c.width() - left - right, height - title_h - bottom, INFINITY, -INFINITY, INFINITY, -INFINITY};
  bool integral = true;
  for (const auto& s : p.series)
    for (double x : s.x) f.x0 = std::min(f.x0, x), f.x1 = std::max(f.x1, x), integral = integral && x == std::round(x);
  const AxisRange xr = safe_range(f.x0, f.x1);
  f.x0 = xr.lo, f.x1 = xr.hi;
  const int cols = std::max(2, int(f.w));
  std::vector<std::vector<double>> ys;
  for (const auto& s : p.series) {
    ys.push_back(bucket(s, f.x0, f.x1, cols));
    for (double v : ys.back())
      if (std::isfinite(v)) f.y0 = std::min(f.y0, v), f.y1 = std::max(f.y1, v);
  }
  const AxisRange yr = safe_range(f.y0, f.y1);
  f.y0 = yr.lo, f.y1 = yr.hi;
  const double pad = 0.05 * (f.y1 - f.y0);
  f.y0 -= pad, f.y1 += pad;
  draw_axes(c, f, p.title, p.x_label, p.y_label, integral);
  for (const XMark& m : p.x_marks) {
    if (!std::isfinite(m.x) || m.x < f.x0 || m.x > f.x1) continue;
    const double px = std::floor(f.left + (m.x - f.x0) / (f.x1 - f.x0) * f.w) + 0.5;  // one pixel's centre: crisp
    c.line(px, f.top, px, f.top + f.h, kMark, 1.2, true);
    c.text(px + 4, f.top + f.h - 6, m.label, kTick, kMark, Align::left);  // at the foot: legends sit on top
  }
  c.clip(f.left, f.top, f.w, f.h);
  for (size_t k = 0; k < p.series.size(); ++k) {
    std::vector<std::array<double, 2>> pts;
    const auto flush = [&] {
      c.polyline(pts, p.series[k].color, p.series[k].alpha < 1 ? 1.0 : 1.8, p.series[k].alpha);
      pts.clear();
    };
    for (int b = 0; b < cols; ++b) {
      const double v = ys[k][size_t(b)];
      if (std::isfinite(v)) pts.push_back({f.left + (cols > 1 ? double(b) / (cols - 1) : 0.5) * f.w, f.py(v)});
    }
    flush();
  }
  c.unclip();
  std::vector<std::pair<std::string, Rgb>> legend;
  for (const auto& s : p.series)
    if (s.legend) legend.push_back({s.name, s.color});
  draw_legend(c, f, legend, false);
  if (!notes.note().empty()) c.text(f.left + f.w, f.top + f.h + 40, notes.note(), kTick, kWarn, Align::right);
  return notes;
}

}  // namespace

PlotNotes write_line_panels(const std::string& path, const std::vector<LinePanel>& panels, int width, int panel_height) {
  CG_CHECK(!panels.empty() && width >= 200 && panel_height >= 150, "write_line_panels: ", panels.size(),
           " panels of ", width, "x", panel_height, " is no plot");
  Chart c(width, panel_height * int(panels.size()));
  PlotNotes notes;
  for (size_t i = 0; i < panels.size(); ++i) notes.add(draw_line_panel(c, panels[i], double(i) * panel_height, panel_height));
  c.write_png(path);
  return notes;
}

PlotNotes write_line_plot(const std::string& path, const std::vector<PlotSeries>& series, const std::string& title,
                     int width, int height, const std::string& y_label) {
  return write_line_panels(path, {LinePanel{title, "iteration", y_label, series, {}}}, width, height);
}

PlotNotes write_box_plot(const std::string& path, const std::vector<BoxGroup>& groups,
                    const std::vector<std::string>& names, const std::vector<std::array<uint8_t, 3>>& colors,
                    const std::string& title, double y0, double y1, double y_tick, int width, int height,
                    const std::string& y_label) {
  CG_CHECK(!groups.empty() && !colors.empty() && names.size() == colors.size(), "write_box_plot: bad layout");
  const AxisRange yr = safe_range(y0, y1);
  y0 = yr.lo, y1 = yr.hi;
  const std::vector<double> ticks = safe_ticks(y0, y1, y_tick);
  if (ticks.size() > 1) y_tick = ticks[1] - ticks[0];
  PlotNotes notes;
  Chart c(width, height);
  const Frame f{64, 64, width - 64.0 - 14, height - 64.0 - 32, 0, 1, y0, y1};
  for (double t : ticks) {
    const double y = std::round(f.py(t)) + 0.5;
    c.line(f.left, y, f.left + f.w, y, kGrid);
    c.text(f.left - 7, y + kTick * 0.35, data::tick_label(t, y_tick), kTick, kInk, Align::right);
  }
  c.rect(f.left + 0.5, f.top + 0.5, f.w, f.h, kAxis, false);
  c.text(f.left, 24, title, kTitle, kInk, Align::left, true);
  if (!y_label.empty()) c.text(16, f.top + f.h / 2, y_label, kLabel, kMuted, Align::center, false, -90);
  std::vector<std::pair<std::string, Rgb>> legend;
  for (size_t k = 0; k < names.size(); ++k) legend.push_back({names[k], colors[k]});
  auto yp = [&](double v) { return f.py(std::clamp(v, y0, y1)); };
  const double gw = f.w / double(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    const double gx = f.left + double(g) * gw;
    const int nb = std::max<int>(1, int(groups[g].boxes.size()));
    const double bw = std::max(4.0, std::min(40.0, (gw - 16) / nb - 6)), span = nb * (bw + 6) - 6, bx0 = gx + (gw - span) / 2;
    for (size_t k = 0; k < groups[g].boxes.size(); ++k) {
      BoxStats b = groups[g].boxes[k];
      bool finite = true;  // a NaN once made a whisker line walk 2^31 pixels
      for (double* v : {&b.min, &b.q1, &b.median, &b.q3, &b.max}) finite = !std::isnan(*v = clip_value(*v, notes)) && finite;
      if (!finite) {
        ++notes.skipped;
        continue;
      }
      const Rgb col = colors[k % colors.size()];
      const double x0 = bx0 + double(k) * (bw + 6), x1 = x0 + bw, xm = (x0 + x1) / 2;
      c.line(xm, yp(b.max), xm, yp(b.q3), col, 1.5);  // whiskers: min and max
      c.line(xm, yp(b.q1), xm, yp(b.min), col, 1.5);
      c.line(x0 + bw / 4, yp(b.max), x1 - bw / 4, yp(b.max), col, 1.5);
      c.line(x0 + bw / 4, yp(b.min), x1 - bw / 4, yp(b.min), col, 1.5);
      c.rect(x0, yp(b.q3), bw, std::max(1.0, yp(b.q1) - yp(b.q3)), col);
      c.line(x0 + 1, yp(b.median), x1 - 1, yp(b.median), {255, 255, 255}, 2);  // median: a white bar
    }
    c.text(gx + gw / 2, f.top + f.h + 18, groups[g].label, kLabel, kInk, Align::center);
  }
  Frame above = f;  // the legend between the title and the plot, so no box hides under it
  above.top = 26;
  draw_legend(c, above, legend, true);
  if (notes.skipped > 0 || notes.clipped > 0)
    c.text(f.left + f.w, f.top + f.h + 30,
           notes.skipped > 0 ? std::to_string(notes.skipped) + " box(es) with non-finite values left out" : notes.note(),
           kTick, kWarn, Align::right);
  c.write_png(path);
  return notes;
}

}  // namespace cg::gan
