// Plots drawn on data/chart (cairo, DejaVu Sans): line plots for RUN/loss.png and
// `covergan plot` (series over the training steps, averaged into one point per pixel
// column, panels stacked to overlay runs metric by metric) and box plots for the
// MS-SSIM figure of `covergan eval`; ticks, axis labels, titles and legends.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "data/plot_data.h"

namespace cg::gan {

struct PlotSeries {
  std::string name;
  std::array<uint8_t, 3> color{0, 0, 0};
  std::vector<double> x, y;  // same length; non-finite points are skipped, extremes clipped
  double alpha = 1.0;        // below 1: drawn faded (the raw curve behind a smoothed one)
  bool legend = true;        // listed in the panel's legend
};

// A vertical line across a panel at x, labelled at its foot (a threshold on the x axis).
struct XMark {
  double x = 0;
  std::string label;
};

struct LinePanel {
  std::string title, x_label = "iteration", y_label;
  std::vector<PlotSeries> series;
  std::vector<XMark> x_marks;  // drawn dashed, grey, where they fall inside the x range
};

// Panels stacked top to bottom in one width x (panels * panel_height) RGB PNG
// (temporary name, then rename); each panel has its own y range and legend. Points are
// sanitised first (data/plot_data.h); what was skipped or clipped is noted on the panel
// and returned.
PlotNotes write_line_panels(const std::string& path, const std::vector<LinePanel>& panels, int width = 900,
                       int panel_height = 340);
// One panel, x labelled "iteration".
PlotNotes write_line_plot(const std::string& path, const std::vector<PlotSeries>& series, const std::string& title,
                     int width = 800, int height = 400, const std::string& y_label = "");

// One box: the five numbers of a distribution (whiskers at min and max).
struct BoxStats {
  double min = 0, q1 = 0, median = 0, q3 = 0, max = 0;
};
struct BoxGroup {
  std::string label;            // drawn under the group (a genre)
  std::vector<BoxStats> boxes;  // one per series, in the order of series_names
};
// Groups of boxes side by side (the paper's Fig. 3a); y from y0 to y1 with a tick
// every y_tick. series_names / colors: the legend, one per box of a group.
// A box with a non-finite number is left out and values outside y0..y1 are drawn at the
// edge (both noted on the picture and returned); a bad range or tick gets a safe one.
PlotNotes write_box_plot(const std::string& path, const std::vector<BoxGroup>& groups,
                    const std::vector<std::string>& series_names, const std::vector<std::array<uint8_t, 3>>& colors,
                    const std::string& title, double y0 = 0.0, double y1 = 1.0, double y_tick = 0.1,
                    int width = 900, int height = 420, const std::string& y_label = "MS-SSIM");

}  // namespace cg::gan
