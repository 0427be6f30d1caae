// The roofline rasteriser (see roofline.h): log-log axes with a tick per decade, the
// ceilings as lines, points as small filled squares, drawn on data/chart (cairo, DejaVu Sans).
#include "data/roofline.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "base/check.h"
#include "data/chart.h"
#include "data/grid.h"

namespace cg::data {

namespace {

using Align = Chart::Align;

Rgb pass_color(const std::string& pass) {
  if (pass == "forward") return {31, 119, 180};
  if (pass == "backward-data") return {255, 127, 14};
  if (pass == "backward-weight") return {44, 160, 44};
  if (pass == "update") return {148, 103, 189};
  return {214, 39, 40};  // backward (fused) and anything else
}

std::string decade(double v) {
  char b[32];
  std::snprintf(b, sizeof b, v >= 1 ? "%.0f" : "%g", v);
  return b;
}

}  // namespace

void write_roofline_png(const std::string& path, const std::vector<RooflinePoint>& points, double peak,
                        double bw, const std::string& title, int width, int height) {
  CG_CHECK(width >= 300 && height >= 200, "write_roofline_png: canvas ", width, "x", height, " is too small");
  // A ceiling that is no number (inf, NaN: a zero time measured) is not drawn, and so
  // never becomes an axis end: an infinite range made the decade loops below endless.
  if (!std::isfinite(peak) || !std::isfinite(bw) || !std::isfinite(peak / bw)) peak = std::isfinite(peak) ? peak : 0, bw = 0;
  std::vector<RooflinePoint> pts;
  for (const auto& p : points)
    if (p.intensity > 0 && p.gflops > 0 && std::isfinite(p.intensity) && std::isfinite(p.gflops)) pts.push_back(p);
  // Axis ranges: whole decades around the points and the ridge point.
  double x0 = 1e30, x1 = 0, y0 = 1e30, y1 = 0;
  for (const auto& p : pts) x0 = std::min(x0, p.intensity), x1 = std::max(x1, p.intensity),
                            y0 = std::min(y0, p.gflops), y1 = std::max(y1, p.gflops);
  if (peak > 0) y1 = std::max(y1, peak), y0 = std::min(y0, peak / 1000);
  if (peak > 0 && bw > 0) x0 = std::min(x0, peak / bw / 100), x1 = std::max(x1, peak / bw * 10);
  if (!(x0 < x1)) x0 = 0.1, x1 = 1000;
  if (!(y0 < y1)) y0 = 0.1, y1 = 1000;
  double lx0 = std::floor(std::log10(x0)), lx1 = std::ceil(std::log10(x1));
  double ly0 = std::floor(std::log10(y0)), ly1 = std::ceil(std::log10(y1) + 0.05);
  // At most 40 decades an axis (doubles span about 630): the extremes are cut at the edge.
  if (!std::isfinite(lx1)) lx1 = 309;  // a ridge point times 10 may overflow
  if (!std::isfinite(ly1)) ly1 = 309;
  lx0 = std::max(lx0, lx1 - 40), ly0 = std::max(ly0, ly1 - 40);
  const int left = 64, right = 16, top = 44, bottom = 48, pw = width - left - right, ph = height - top - bottom;
  auto X = [&](double v) { return left + (std::log10(v) - lx0) / (lx1 - lx0) * pw; };
  auto Y = [&](double v) { return top + ph - (std::log10(v) - ly0) / (ly1 - ly0) * ph; };
  Chart cv(width, height);
  const Rgb ink{30, 30, 30}, axis{110, 110, 110}, grid{228, 228, 228}, roof{120, 120, 120};
  const double fs = 11.5;
  for (double d = lx0; d <= lx1 + 1e-9; d += 1) {
    const double x = std::round(X(std::pow(10.0, d))) + 0.5;
    cv.line(x, top, x, top + ph, grid, 1.0, true);
    cv.text(x, top + ph + 6 + fs, decade(std::pow(10.0, d)), fs, ink, Align::center);
  }
  for (double d = ly0; d <= ly1 + 1e-9; d += 1) {
    const double y = std::round(Y(std::pow(10.0, d))) + 0.5;
    cv.line(left, y, left + pw, y, grid, 1.0, true);
    cv.text(left - 7, y + fs * 0.35, decade(std::pow(10.0, d)), fs, ink, Align::right);
  }
  cv.rect(left + 0.5, top + 0.5, pw, ph, axis, false);
  cv.text(left, 20, title, 14, ink, Align::left, true);
  cv.text(left + pw / 2.0, top + ph + 14 + 2 * fs, "arithmetic intensity (FLOP per byte)", 12.5, ink, Align::center);
  cv.text(18, top + ph / 2.0, "GFLOP/s", 12.5, ink, Align::center, false, -90);
  if (peak > 0) {  // the roof: min(peak, bw * intensity)
    const double ridge = bw > 0 ? peak / bw : std::pow(10.0, lx0);
    const double xa = std::pow(10.0, lx0), xb = std::pow(10.0, lx1);
    if (bw > 0) cv.line(X(xa), Y(std::max(bw * xa, std::pow(10.0, ly0))), X(ridge), Y(peak), roof, 2);
    cv.line(X(std::max(ridge, xa)), Y(peak), X(xb), Y(peak), roof, 2);
    char b[96];
    std::snprintf(b, sizeof b, "FMA peak %.0f GFLOP/s", peak);
    cv.text(X(xb) - 4, Y(peak) - 5, b, fs, roof, Align::right);
    if (bw > 0) {
      std::snprintf(b, sizeof b, "memory %.1f GB/s", bw);
      cv.text(X(xa) + 4, Y(std::max(bw * xa, std::pow(10.0, ly0))) - 6, b, fs, roof);
    }
  }
  for (const auto& p : pts) {
    const double x = X(p.intensity), y = Y(p.gflops);
    cv.rect(x - 2.5, y - 2.5, 5, 5, pass_color(p.pass));
    cv.text(x + 5, y - 3, p.label, 10.5, pass_color(p.pass));
  }
  double lx = left + pw;
  for (const char* pass : {"update", "backward", "backward-weight", "backward-data", "forward"}) {
    lx -= cv.text_width(pass, fs) + 24;
    cv.rect(lx, 27, 8, 8, pass_color(pass));
    cv.text(lx + 12, 35, pass, fs, pass_color(pass));
  }
  cv.write_png(path);
}

}  // namespace cg::data
