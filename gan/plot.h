// A tiny line-plot rasteriser for RUN/loss.png: a few series over the training
// steps, averaged into one point per pixel column, axes with their ranges
// printed in the built-in bitmap font, written with the PNG writer of data/grid.
#pragma once
#include <array>
#include <string>
#include <vector>

namespace cg::gan {

struct PlotSeries {
  std::string name;
  std::array<uint8_t, 3> color{0, 0, 0};
  std::vector<double> x, y;  // same length; non-finite y values are skipped
};

// Writes a width x height RGB PNG (temporary name, then rename).
void write_line_plot(const std::string& path, const std::vector<PlotSeries>& series, const std::string& title,
                     int width = 800, int height = 400);

}  // namespace cg::gan
