// Training curves from a run's metrics.csv: the losses, D's outputs D(x) and
// D(G(z)), and D's genre accuracies on the real and the generated batch, as PNG
// line plots (`covergan plot`, and the report of `covergan eval`).
#pragma once
#include <map>
#include <string>
#include <vector>

namespace cg::gan {

// Every numeric column of RUN/metrics.csv by its header name (non-numeric cells NaN).
std::map<std::string, std::vector<double>> read_metrics_csv(const std::string& path);

struct CurveFiles {
  std::string losses, d_outputs, accuracy, genre_terms;  // file names inside the output folder
  int64_t rows = 0;
};
// Writes losses.png, d_outputs.png, accuracy.png and genre_terms.png into out_dir.
CurveFiles plot_metrics(const std::string& metrics_csv, const std::string& out_dir);

}  // namespace cg::gan
