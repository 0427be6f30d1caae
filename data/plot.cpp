// The line-plot rasteriser (see plot.h).
#include "data/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "data/font5x7.h"
#include "data/grid.h"
#include "base/check.h"

namespace cg::gan {
namespace {

struct Canvas {
  int w, h;
  std::vector<uint8_t> px;
  Canvas(int w_, int h_) : w(w_), h(h_), px(size_t(w_) * size_t(h_) * 3, 255) {}
  void set(int x, int y, std::array<uint8_t, 3> c) {
    if (x < 0 || y < 0 || x >= w || y >= h) return;
    uint8_t* p = px.data() + (size_t(y) * size_t(w) + size_t(x)) * 3;
    p[0] = c[0], p[1] = c[1], p[2] = c[2];
  }
  // Bresenham, two pixels thick (vertically) so the curves read at a glance.
  void line(int x0, int y0, int x1, int y1, std::array<uint8_t, 3> c) {
    const int dx = std::abs(x1 - x0), sx = x0 < x1 ? 1 : -1, dy = -std::abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    for (;;) {
      set(x0, y0, c);
      set(x0, y0 + 1, c);
      if (x0 == x1 && y0 == y1) return;
      const int e2 = 2 * err;
      if (e2 >= dy) err += dy, x0 += sx;
      if (e2 <= dx) err += dx, y0 += sy;
    }
  }
  void rect(int x0, int y0, int x1, int y1, std::array<uint8_t, 3> c) {  // filled
    for (int y = std::min(y0, y1); y <= std::max(y0, y1); ++y)
      for (int x = std::min(x0, x1); x <= std::max(x0, x1); ++x) set(x, y, c);
  }
  void text(int x, int y, const std::string& s, std::array<uint8_t, 3> c) {
    for (char ch : s) {
      const uint8_t* rows = data::font::glyph_rows(ch);
      for (int r = 0; r < data::font::kGlyphH; ++r)
        for (int k = 0; k < data::font::kGlyphW; ++k)
          if (rows[r] & (0x10 >> k)) set(x + k, y + r, c);
      x += data::font::kAdvance;
    }
  }
};

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, std::fabs(v) >= 1e4 ? "%.0f" : "%.3g", v);
  return buf;
}

// Mean y of the points falling into each of n columns over [x0, x1]; NaN where none.
std::vector<double> bucket(const PlotSeries& s, double x0, double x1, int n) {
  std::vector<double> sum(size_t(n), 0.0), cnt(size_t(n), 0.0);
  for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
    if (!std::isfinite(s.y[i])) continue;
    const int b = x1 > x0 ? std::clamp(int((s.x[i] - x0) / (x1 - x0) * (n - 1) + 0.5), 0, n - 1) : 0;
    sum[size_t(b)] += s.y[i];
    cnt[size_t(b)] += 1;
  }
  for (int b = 0; b < n; ++b) sum[size_t(b)] = cnt[size_t(b)] > 0 ? sum[size_t(b)] / cnt[size_t(b)] : NAN;
  return sum;
}

}  // namespace

void write_line_plot(const std::string& path, const std::vector<PlotSeries>& series, const std::string& title,
                     int width, int height) {
  CG_CHECK(width >= 100 && height >= 60, "write_line_plot: canvas ", width, "x", height, " is too small");
  const int left = 56, right = 12, top = 22, bottom = 22, pw = width - left - right, ph = height - top - bottom;
  double x0 = INFINITY, x1 = -INFINITY;
  for (const auto& s : series)
    for (double x : s.x) x0 = std::min(x0, x), x1 = std::max(x1, x);
  if (!(x0 <= x1)) x0 = 0, x1 = 1;
  std::vector<std::vector<double>> cols;
  double y0 = INFINITY, y1 = -INFINITY;
  for (const auto& s : series) {
    cols.push_back(bucket(s, x0, x1, pw));
    for (double v : cols.back())
      if (std::isfinite(v)) y0 = std::min(y0, v), y1 = std::max(y1, v);
  }
  if (!(y0 <= y1)) y0 = 0, y1 = 1;
  if (y1 - y0 < 1e-12) y0 -= 0.5, y1 += 0.5;
  Canvas cv(width, height);
  const std::array<uint8_t, 3> axis{90, 90, 90}, ink{0, 0, 0};
  cv.line(left, top, left, top + ph, axis);
  cv.line(left, top + ph, left + pw, top + ph, axis);
  cv.text(left, 6, title, ink);
  cv.text(4, top, fmt(y1), ink);
  cv.text(4, top + ph - 7, fmt(y0), ink);
  const auto fmt_x = [](double v) { return std::to_string(static_cast<long long>(std::llround(v))); };
  cv.text(left, top + ph + 8, fmt_x(x0), ink);
  const std::string xr = fmt_x(x1);
  cv.text(left + pw - int(xr.size()) * data::font::kAdvance, top + ph + 8, xr, ink);
  int legend_x = left + pw - 8;
  for (size_t k = series.size(); k-- > 0;) {
    legend_x -= int(series[k].name.size()) * data::font::kAdvance + 20;
    cv.line(legend_x, 10, legend_x + 10, 10, series[k].color);
    cv.text(legend_x + 14, 6, series[k].name, series[k].color);
  }
  auto ypix = [&](double v) { return top + int((y1 - v) / (y1 - y0) * (ph - 2) + 0.5); };
  for (size_t k = 0; k < series.size(); ++k) {
    int px = -1, py = 0;
    for (int b = 0; b < pw; ++b) {
      const double v = cols[k][size_t(b)];
      if (!std::isfinite(v)) continue;
      const int x = left + 1 + b, y = ypix(v);
      if (px >= 0) cv.line(px, py, x, y, series[k].color);
      else cv.set(x, y, series[k].color);
      px = x, py = y;
    }
  }
  data::write_png_rgb(path, cv.px.data(), width, height);
}

void write_box_plot(const std::string& path, const std::vector<BoxGroup>& groups,
                    const std::vector<std::string>& names, const std::vector<std::array<uint8_t, 3>>& colors,
                    const std::string& title, double y0, double y1, double y_tick, int width, int height) {
  CG_CHECK(!groups.empty() && names.size() == colors.size() && y1 > y0 && y_tick > 0, "write_box_plot: bad layout");
  const int left = 48, right = 12, top = 34, bottom = 26, pw = width - left - right, ph = height - top - bottom;
  Canvas cv(width, height);
  const std::array<uint8_t, 3> axis{90, 90, 90}, grid{225, 225, 225}, ink{0, 0, 0};
  auto ypix = [&](double v) { return top + int((y1 - std::clamp(v, y0, y1)) / (y1 - y0) * ph + 0.5); };
  for (double t = y0; t <= y1 + 1e-9; t += y_tick) {
    const int y = ypix(t);
    for (int x = left + 1; x <= left + pw; x += 2) cv.set(x, y, grid);  // dotted grid line
    cv.text(4, y - 3, fmt(t), ink);
  }
  cv.line(left, top, left, top + ph, axis);
  cv.line(left, top + ph, left + pw, top + ph, axis);
  cv.text(left, 6, title, ink);
  int lx = left;
  for (size_t k = 0; k < names.size(); ++k) {  // legend under the title
    cv.rect(lx, 20, lx + 9, 27, colors[k]);
    cv.text(lx + 13, 20, names[k], ink);
    lx += 13 + int(names[k].size()) * data::font::kAdvance + 16;
  }
  const int gw = pw / int(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    const int gx = left + int(g) * gw, nb = std::max<int>(1, int(groups[g].boxes.size()));
    const int bw = std::max(4, std::min(40, (gw - 16) / nb - 6));
    const int span = nb * (bw + 6) - 6, bx0 = gx + (gw - span) / 2;
    for (size_t k = 0; k < groups[g].boxes.size(); ++k) {
      const BoxStats& b = groups[g].boxes[k];
      const auto col = colors[k % colors.size()];
      const int x0 = bx0 + int(k) * (bw + 6), x1 = x0 + bw, xm = (x0 + x1) / 2;
      cv.line(xm, ypix(b.max), xm, ypix(b.q3), col);  // whiskers: min and max
      cv.line(xm, ypix(b.q1), xm, ypix(b.min), col);
      cv.line(x0 + bw / 4, ypix(b.max), x1 - bw / 4, ypix(b.max), col);
      cv.line(x0 + bw / 4, ypix(b.min), x1 - bw / 4, ypix(b.min), col);
      cv.rect(x0, ypix(b.q3), x1, ypix(b.q1), col);
      const int ym = ypix(b.median);
      cv.rect(x0 + 1, ym - 1, x1 - 1, ym, {255, 255, 255});  // median: a white bar across the box
    }
    const std::string& lab = groups[g].label;
    cv.text(gx + (gw - int(lab.size()) * data::font::kAdvance) / 2, top + ph + 9, lab, ink);
  }
  data::write_png_rgb(path, cv.px.data(), width, height);
}

}  // namespace cg::gan
