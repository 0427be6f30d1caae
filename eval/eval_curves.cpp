// Reading metrics.csv and drawing its curves (see eval_curves.h).
#include "eval/eval_curves.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/check.h"
#include "data/plot.h"

namespace cg::gan {

std::map<std::string, std::vector<double>> read_metrics_csv(const std::string& path) {
  std::ifstream in(path);
  CG_USER_CHECK(in.good(), "Cannot read ", path, " (a run folder of `covergan train` has one).");
  std::string line;
  CG_USER_CHECK(static_cast<bool>(std::getline(in, line)), "The file ", path, " is empty.");
  std::vector<std::string> names;
  {
    std::istringstream row(line);
    std::string cell;
    while (std::getline(row, cell, ',')) names.push_back(cell);
  }
  CG_USER_CHECK(!names.empty() && names[0] == "step", "The file ", path, " is not a covergan metrics.csv (no step column).");
  std::map<std::string, std::vector<double>> cols;
  while (std::getline(in, line)) {
    std::istringstream row(line);
    std::string cell;
    std::vector<double> v;
    while (std::getline(row, cell, ',')) {
      char* end = nullptr;
      const double x = std::strtod(cell.c_str(), &end);
      v.push_back(end && *end == '\0' && !cell.empty() ? x : NAN);
    }
    if (v.size() != names.size()) continue;  // a torn last line of a running training
    for (size_t i = 0; i < names.size(); ++i) cols[names[i]].push_back(v[i]);
  }
  return cols;
}

CurveFiles plot_metrics(const std::string& csv, const std::string& out_dir) {
  auto cols = read_metrics_csv(csv);
  CG_USER_CHECK(!cols["step"].empty(), "The file ", csv, " holds no iterations yet.");
  const std::vector<double>& x = cols["step"];
  auto series = [&](const char* col, const char* label, std::array<uint8_t, 3> rgb) {
    CG_USER_CHECK(cols.count(col), "The file ", csv, " lacks the column ", col, ".");
    return PlotSeries{label, rgb, x, cols[col]};
  };
  const std::array<uint8_t, 3> red{200, 40, 40}, blue{40, 80, 200}, green{30, 150, 60}, orange{230, 130, 20};
  CurveFiles f{"losses.png", "d_outputs.png", "accuracy.png", "genre_terms.png", int64_t(x.size())};
  write_line_plot(out_dir + "/" + f.losses, {series("d_loss", "D loss", red), series("g_loss", "G loss", blue)},
                  "losses over iterations");
  write_line_plot(out_dir + "/" + f.d_outputs,
                  {series("d_x", "D(x) real", green), series("d_g_z", "D(G(z)) generated", red)},
                  "mean sigmoid of D's real/fake output over iterations");
  write_line_plot(out_dir + "/" + f.accuracy,
                  {series("acc_real", "real batch", green), series("acc_fake", "generated batch", orange)},
                  "D's genre accuracy on the training batches");
  write_line_plot(out_dir + "/" + f.genre_terms,
                  {series("d_cls_real", "D CE real", green), series("d_cls_fake", "D CE generated", orange),
                   series("g_cls", "G CE", blue), series("d_code", "D code MSE", red)},
                  "genre cross-entropy and code terms");
  return f;
}

}  // namespace cg::gan
