// The chart canvas (see chart.h): one cairo image surface per chart; the DejaVu Sans
// faces are opened once through FreeType and shared (cairo locks a face while it
// renders from it), with cairo's own "sans-serif" as the fallback when the file is missing.
#include "data/chart.h"

#include <cairo-ft.h>
#include <cairo.h>
#include <ft2build.h>
#include FT_FREETYPE_H

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "base/check.h"
#include "data/grid.h"

namespace cg::data {
namespace {

// DejaVu Sans regular and bold, or null faces (the fallback) when the files are missing.
struct Fonts {
  FT_Library lib = nullptr;
  cairo_font_face_t* face[2] = {nullptr, nullptr};
  std::string name = "sans-serif (cairo's fallback: DejaVu Sans not found)";
  Fonts() {
    const char* dirs[] = {"/usr/share/fonts/truetype/dejavu/", "/usr/share/fonts/dejavu/"};
    const char* files[2] = {"DejaVuSans.ttf", "DejaVuSans-Bold.ttf"};
    if (FT_Init_FreeType(&lib) != 0) return;
    for (int b = 0; b < 2; ++b)
      for (const char* d : dirs) {
        const std::string path = std::string(d) + files[b];
        FT_Face ft = nullptr;
        if (!std::filesystem::exists(path) || FT_New_Face(lib, path.c_str(), 0, &ft) != 0) continue;
        face[b] = cairo_ft_font_face_create_for_ft_face(ft, 0);
        if (b == 0) name = std::string(ft->family_name ? ft->family_name : "?");
        break;
      }
  }
};
const Fonts& fonts() {
  static const Fonts f;  // lives to the end of the program, as the faces cairo caches
  return f;
}

void set_font(cairo_t* cr, double size, bool bold) {
  if (cairo_font_face_t* f = fonts().face[bold ? 1 : 0]) cairo_set_font_face(cr, f);
  else cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

void set_color(cairo_t* cr, Rgb c, double alpha = 1.0) {
  cairo_set_source_rgba(cr, c[0] / 255.0, c[1] / 255.0, c[2] / 255.0, alpha);
}

}  // namespace

struct Chart::Impl {
  cairo_surface_t* surface = nullptr;
  cairo_t* cr = nullptr;
};

Chart::Chart(int width, int height) : p_(std::make_unique<Impl>()), w_(width), h_(height) {
  CG_CHECK(width > 0 && height > 0 && width <= 16384 && height <= 16384, "Chart: bad size ", width, "x", height);
  p_->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
  CG_CHECK(cairo_surface_status(p_->surface) == CAIRO_STATUS_SUCCESS, "Chart: cairo cannot make a ", width, "x",
           height, " surface");
  p_->cr = cairo_create(p_->surface);
  cairo_set_source_rgb(p_->cr, 1, 1, 1);
  cairo_paint(p_->cr);
  cairo_set_line_join(p_->cr, CAIRO_LINE_JOIN_ROUND);
}

Chart::Chart(const uint8_t* rgb, int width, int height) : Chart(width, height) {
  uint8_t* data = cairo_image_surface_get_data(p_->surface);
  const int stride = cairo_image_surface_get_stride(p_->surface);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const uint8_t* i = rgb + (size_t(y) * size_t(width) + size_t(x)) * 3;
      const uint32_t v = uint32_t(i[0]) << 16 | uint32_t(i[1]) << 8 | uint32_t(i[2]);
      std::memcpy(data + size_t(y) * size_t(stride) + size_t(x) * 4, &v, 4);
    }
  cairo_surface_mark_dirty(p_->surface);
}

Chart::~Chart() {
  cairo_destroy(p_->cr);
  cairo_surface_destroy(p_->surface);
}

void Chart::line(double x0, double y0, double x1, double y1, Rgb c, double width, bool dashed) {
  cairo_t* cr = p_->cr;
  const double dash[] = {4.0, 3.0};
  cairo_set_dash(cr, dash, dashed ? 2 : 0, 0);
  set_color(cr, c);
  cairo_set_line_width(cr, width);
  cairo_move_to(cr, x0, y0);
  cairo_line_to(cr, x1, y1);
  cairo_stroke(cr);
  cairo_set_dash(cr, nullptr, 0, 0);
}

void Chart::polyline(const std::vector<std::array<double, 2>>& pts, Rgb c, double width, double alpha) {
  if (pts.empty()) return;
  cairo_t* cr = p_->cr;
  set_color(cr, c, alpha);
  cairo_set_line_width(cr, width);
  cairo_move_to(cr, pts[0][0], pts[0][1]);
  for (size_t i = 1; i < pts.size(); ++i) cairo_line_to(cr, pts[i][0], pts[i][1]);
  if (pts.size() == 1) cairo_line_to(cr, pts[0][0] + 0.5, pts[0][1]);  // a lone point still shows
  cairo_stroke(cr);
}

void Chart::rect(double x, double y, double w, double h, Rgb c, bool fill, double alpha) {
  cairo_t* cr = p_->cr;
  set_color(cr, c, alpha);
  cairo_rectangle(cr, x, y, w, h);
  if (fill) {
    cairo_fill(cr);
  } else {
    cairo_set_line_width(cr, 1.0);
    cairo_stroke(cr);
  }
}

void Chart::clip(double x, double y, double w, double h) {
  cairo_save(p_->cr);
  cairo_rectangle(p_->cr, x, y, w, h);
  cairo_clip(p_->cr);
}

void Chart::unclip() { cairo_restore(p_->cr); }

void Chart::text(double x, double y, const std::string& s, double size, Rgb c, Align align, bool bold, double angle) {
  cairo_t* cr = p_->cr;
  set_font(cr, size, bold);
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  const double shift = align == Align::left ? 0.0 : align == Align::center ? e.x_advance / 2 : e.x_advance;
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, angle * M_PI / 180.0);
  cairo_move_to(cr, -shift, 0);
  set_color(cr, c);
  cairo_show_text(cr, s.c_str());
  cairo_restore(cr);
}

double Chart::text_width(const std::string& s, double size, bool bold) const {
  set_font(p_->cr, size, bold);
  cairo_text_extents_t e;
  cairo_text_extents(p_->cr, s.c_str(), &e);
  return e.x_advance;
}

std::vector<uint8_t> Chart::rgb() const {
  cairo_surface_flush(p_->surface);
  const uint8_t* data = cairo_image_surface_get_data(p_->surface);
  const int stride = cairo_image_surface_get_stride(p_->surface);
  std::vector<uint8_t> out(size_t(w_) * size_t(h_) * 3);
  for (int y = 0; y < h_; ++y)
    for (int x = 0; x < w_; ++x) {  // RGB24: one native-endian 32-bit word per pixel, 0x00RRGGBB
      uint32_t v;
      std::memcpy(&v, data + size_t(y) * size_t(stride) + size_t(x) * 4, 4);
      uint8_t* o = out.data() + (size_t(y) * size_t(w_) + size_t(x)) * 3;
      o[0] = uint8_t(v >> 16), o[1] = uint8_t(v >> 8), o[2] = uint8_t(v);
    }
  return out;
}

void Chart::write_png(const std::string& path) const { write_png_rgb(path, rgb().data(), w_, h_); }

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return {lo};
  const double raw = (hi - lo) / std::max(1, target), p = std::pow(10.0, std::floor(std::log10(raw)));
  const double m = raw / p, step = (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
  std::vector<double> t;
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k += 1) t.push_back(k * step == 0 ? 0.0 : k * step);
  return t;
}

std::string tick_label(double v, double step) {
  char buf[48];
  const bool kilo = std::fabs(step) >= 1000 && std::fabs(v) < 1e9;
  const double shown = kilo ? v / 1000 : v, s = kilo ? step / 1000 : step;
  int decimals = 0;  // the fewest that show the step exactly: 0.25 needs 2, 5 none
  for (double m = std::fabs(s); decimals < 8 && m > 0 && std::fabs(m - std::round(m)) > 1e-6 * std::max(1.0, m);
       m *= 10)
    ++decimals;
  std::snprintf(buf, sizeof buf, "%.*f%s", decimals, shown, kilo ? "k" : "");
  return buf;
}

std::string chart_font_name() { return fonts().name; }

TextInk text_ink(const std::string& s, double size) {
  const int w = int(size * (double(s.size()) + 2)), h = int(size * 3), base = int(size * 2);
  Chart c(w, h);
  c.text(size / 2, base, s, size, {0, 0, 0});
  const std::vector<uint8_t> px = c.rgb();
  TextInk ink;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      if (px[(size_t(y) * size_t(w) + size_t(x)) * 3] < 128) {  // at least half covered
        if (y < base) ink.above = std::max(ink.above, base - y);
        else ink.below = std::max(ink.below, y - base + 1);
      }
  return ink;
}

}  // namespace cg::data
