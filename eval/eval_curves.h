// Training curves from a run's metrics.csv: the losses, D's outputs D(x) and
// D(G(z)), and D's genre accuracies on the real and the generated batch, as PNG
// line plots (`covergan plot`, and the report of `covergan eval`), and several runs'
// metrics overlaid panel by panel.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/plot_data.h"

namespace cg::gan {

// Every numeric column of RUN/metrics.csv by its header name (non-numeric cells NaN);
// rows with another number of cells are left out (a torn last line), and a file whose
// rows all differ from its header is refused.
std::map<std::string, std::vector<double>> read_metrics_csv(const std::string& path);

struct CurveFiles {
  std::string losses, d_outputs, accuracy, genre_terms;  // file names inside the output folder
  int64_t rows = 0;
  PlotNotes notes;  // values the plots skipped or clipped (summed over the four)
};
// Writes losses.png, d_outputs.png, accuracy.png and genre_terms.png into out_dir (every
// column is checked first, so a bad file writes nothing); smooth > 1 draws a centred moving average over that many iterations on the faded raw curve.
CurveFiles plot_metrics(const std::string& metrics_csv, const std::string& out_dir, int smooth = 1);
// A sentence on what one of plot_metrics' pictures shows (the report's captions).
std::string curve_caption(const std::string& file);

// Centred moving average over `window` values (shrinking at the ends); NaNs are skipped.
std::vector<double> moving_average(const std::vector<double>& y, int window);

// `covergan plot RUN RUN... --metrics a,b`: one panel per metric, one colour per run.
struct OverlayRun {
  std::string name, metrics_csv;  // the legend's name; the file
};
struct OverlayResult {
  std::vector<int64_t> rows;  // iterations read, per run
};
OverlayResult plot_overlay(const std::vector<OverlayRun>& runs, const std::vector<std::string>& metrics, int smooth,
                           const std::string& out_png);
// The panel title and y label of a metrics.csv column ("D loss", "loss"); the column itself when unknown.
std::pair<std::string, std::string> metric_label(const std::string& column);

}  // namespace cg::gan
