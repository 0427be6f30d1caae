// The canvas every PNG chart is drawn on (training curves, box plots): cairo for
// anti-aliased lines and shapes, text in DejaVu Sans loaded through FreeType (Debian's
// fonts-dejavu-core), axis ticks at 1-2-5 steps, written as an RGB PNG.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cg::data {

using Rgb = std::array<uint8_t, 3>;

class Chart {
 public:
  Chart(int width, int height);  // a white canvas
  Chart(const uint8_t* rgb, int width, int height);  // a canvas holding these pixels (height, width, 3)
  ~Chart();
  Chart(const Chart&) = delete;
  Chart& operator=(const Chart&) = delete;
  int width() const { return w_; }
  int height() const { return h_; }

  // Coordinates in pixels from the top left; widths in pixels; alpha in [0, 1].
  void line(double x0, double y0, double x1, double y1, Rgb c, double width = 1.0, bool dashed = false);
  void polyline(const std::vector<std::array<double, 2>>& pts, Rgb c, double width = 1.5, double alpha = 1.0);
  void rect(double x, double y, double w, double h, Rgb c, bool fill = true, double alpha = 1.0);
  void clip(double x, double y, double w, double h);  // later drawing stays inside; unclip() ends it
  void unclip();

  enum class Align { left, center, right };
  // Text with its baseline at y; angle -90 reads bottom to top (a y-axis label).
  void text(double x, double y, const std::string& s, double size, Rgb c, Align align = Align::left,
            bool bold = false, double angle = 0.0);
  double text_width(const std::string& s, double size, bool bold = false) const;

  // The pixels as RGB bytes (height, width, 3).
  std::vector<uint8_t> rgb() const;
  // As PNG, to a temporary name and renamed.
  void write_png(const std::string& path) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> p_;
  int w_, h_;
};

// Tick positions at 1, 2 or 5 times a power of ten covering [lo, hi], about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);
// A tick's text with as many decimals as the step needs: 0.25, 3, 1.5k, 20k.
std::string tick_label(double v, double step);

// The font's name as FreeType reports it ("DejaVu Sans"), or the fallback's when
// the DejaVu file is missing.
std::string chart_font_name();
// Rows of ink a string leaves above and below its baseline at `size` pixels: g, p and
// y reach below it, 9 and P do not (what the old bitmap font got wrong).
struct TextInk {
  int above = 0, below = 0;
};
TextInk text_ink(const std::string& s, double size);

}  // namespace cg::data
