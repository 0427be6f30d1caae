// The roofline rasteriser (see roofline.h): log-log axes with a tick per decade, the
// ceilings as lines, points as small filled squares, text in the built-in 5x7 font.
#include "data/roofline.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "base/check.h"
#include "data/font5x7.h"
#include "data/grid.h"

namespace cg::data {

namespace {

using Rgb = std::array<uint8_t, 3>;

struct Canvas {
  int w, h;
  std::vector<uint8_t> px;
  Canvas(int w_, int h_) : w(w_), h(h_), px(size_t(w_) * size_t(h_) * 3, 255) {}
  void set(int x, int y, Rgb c) {
    if (x < 0 || y < 0 || x >= w || y >= h) return;
    uint8_t* p = px.data() + (size_t(y) * size_t(w) + size_t(x)) * 3;
    p[0] = c[0], p[1] = c[1], p[2] = c[2];
  }
  void line(int x0, int y0, int x1, int y1, Rgb c, bool dotted = false) {
    const int dx = std::abs(x1 - x0), sx = x0 < x1 ? 1 : -1, dy = -std::abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    int err = dx + dy, i = 0;
    for (;; ++i) {
      if (!dotted || (i / 3) % 2 == 0) set(x0, y0, c), set(x0, y0 + 1, c);
      if (x0 == x1 && y0 == y1) return;
      const int e2 = 2 * err;
      if (e2 >= dy) err += dy, x0 += sx;
      if (e2 <= dx) err += dx, y0 += sy;
    }
  }
  void square(int x, int y, int r, Rgb c) {
    for (int j = -r; j <= r; ++j)
      for (int i = -r; i <= r; ++i) set(x + i, y + j, c);
  }
  void text(int x, int y, const std::string& s, Rgb c) {
    for (char ch : s) {
      const uint8_t* rows = font::glyph_rows(ch);
      for (int r = 0; r < font::kGlyphH; ++r)
        for (int k = 0; k < font::kGlyphW; ++k)
          if (rows[r] & (0x10 >> k)) set(x + k, y + r, c);
      x += font::kAdvance;
    }
  }
};

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
  const double lx0 = std::floor(std::log10(x0)), lx1 = std::ceil(std::log10(x1));
  const double ly0 = std::floor(std::log10(y0)), ly1 = std::ceil(std::log10(y1) + 0.05);
  const int left = 64, right = 16, top = 40, bottom = 44, pw = width - left - right, ph = height - top - bottom;
  auto X = [&](double v) { return left + int((std::log10(v) - lx0) / (lx1 - lx0) * pw + 0.5); };
  auto Y = [&](double v) { return top + ph - int((std::log10(v) - ly0) / (ly1 - ly0) * ph + 0.5); };
  Canvas cv(width, height);
  const Rgb ink{0, 0, 0}, axis{90, 90, 90}, grid{225, 225, 225}, roof{120, 120, 120};
  for (double d = lx0; d <= lx1 + 1e-9; d += 1) {
    const int x = X(std::pow(10.0, d));
    cv.line(x, top, x, top + ph, grid, true);
    const std::string s = decade(std::pow(10.0, d));
    cv.text(x - int(s.size()) * font::kAdvance / 2, top + ph + 6, s, ink);
  }
  for (double d = ly0; d <= ly1 + 1e-9; d += 1) {
    const int y = Y(std::pow(10.0, d));
    cv.line(left, y, left + pw, y, grid, true);
    const std::string s = decade(std::pow(10.0, d));
    cv.text(left - 6 - int(s.size()) * font::kAdvance, y - 3, s, ink);
  }
  cv.line(left, top, left, top + ph, axis);
  cv.line(left, top + ph, left + pw, top + ph, axis);
  cv.text(left, 8, title, ink);
  cv.text(left + pw / 2 - 110, top + ph + 22, "arithmetic intensity (FLOP per byte)", ink);
  cv.text(4, top - 14, "GFLOP/s", ink);
  if (peak > 0) {  // the roof: min(peak, bw * intensity)
    const double ridge = bw > 0 ? peak / bw : std::pow(10.0, lx0);
    const double xa = std::pow(10.0, lx0), xb = std::pow(10.0, lx1);
    if (bw > 0) cv.line(X(xa), Y(std::max(bw * xa, std::pow(10.0, ly0))), X(ridge), Y(peak), roof);
    cv.line(X(std::max(ridge, xa)), Y(peak), X(xb), Y(peak), roof);
    char b[96];
    std::snprintf(b, sizeof b, "FMA peak %.0f GFLOP/s", peak);
    cv.text(X(xb) - int(std::string(b).size()) * font::kAdvance - 2, Y(peak) - 11, b, roof);
    if (bw > 0) {
      std::snprintf(b, sizeof b, "memory %.1f GB/s", bw);
      cv.text(X(xa) + 4, Y(std::max(bw * xa, std::pow(10.0, ly0))) - 12, b, roof);
    }
  }
  for (const auto& p : pts) {
    const int x = X(p.intensity), y = Y(p.gflops);
    cv.square(x, y, 2, pass_color(p.pass));
    cv.text(x + 5, y - 3, p.label, pass_color(p.pass));
  }
  int lx = left + pw;
  for (const char* pass : {"update", "backward", "backward-weight", "backward-data", "forward"}) {
    lx -= int(std::string(pass).size()) * font::kAdvance + 20;
    cv.square(lx, 28, 3, pass_color(pass));
    cv.text(lx + 7, 25, pass, pass_color(pass));
  }
  write_png_rgb(path, cv.px.data(), width, height);
}

}  // namespace cg::data
