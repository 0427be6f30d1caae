// Reading metrics.csv and drawing its curves (see eval_curves.h).
#include "eval/eval_curves.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <tuple>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/check.h"
#include "engine/io_util.h"
#include "data/plot.h"

namespace cg::gan {

std::map<std::string, std::vector<double>> read_metrics_csv(const std::string& path) {
  require_regular_file(path, "Cannot read the metrics file");
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
  for (const auto& n : names) cols[n];  // every column of the header, even with no rows yet
  int64_t rows = 0, misfit = 0;
  size_t misfit_cells = 0;
  while (std::getline(in, line)) {
    std::istringstream row(line);
    std::string cell;
    std::vector<double> v;
    while (std::getline(row, cell, ',')) {
      char* end = nullptr;
      const double x = std::strtod(cell.c_str(), &end);
      v.push_back(end && *end == '\0' && !cell.empty() ? x : NAN);
    }
    if (v.size() != names.size()) {  // a torn last line of a running training, or another format
      ++misfit, misfit_cells = v.size();
      continue;
    }
    ++rows;
    for (size_t i = 0; i < names.size(); ++i) cols[names[i]].push_back(v[i]);
  }
  CG_USER_CHECK(rows > 0 || misfit <= 1, "The rows of ", path, " have ", misfit_cells, " values but its header names ",
                names.size(), " columns; it is not a metrics.csv of `covergan train`.");
  return cols;
}

namespace {

using Rgb = std::array<uint8_t, 3>;
constexpr Rgb kRed{214, 39, 40}, kBlue{31, 119, 180}, kGreen{44, 160, 44}, kOrange{255, 127, 14};
// Tableau's ten: distinct at a glance, the order matplotlib users know.
constexpr Rgb kPalette[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},   {148, 103, 189},
                            {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};

// The curve, and with smoothing its moving average on top of the faded raw one.
void add_series(std::vector<PlotSeries>& out, const std::string& name, Rgb c, const std::vector<double>& x,
                const std::vector<double>& y, int smooth) {
  if (smooth <= 1) {
    out.push_back(PlotSeries{name, c, x, y});
    return;
  }
  out.push_back(PlotSeries{name + " (raw)", c, x, y, 0.25, false});
  out.push_back(PlotSeries{name, c, x, moving_average(y, smooth)});
}

const std::vector<double>& column(std::map<std::string, std::vector<double>>& cols, const std::string& csv,
                                  const std::string& name) {
  if (!cols.count(name)) {
    std::string have;
    for (const auto& [k, v] : cols)
      if (k != "step") have += (have.empty() ? "" : ", ") + k;
    CG_USER_CHECK(false, "The file ", csv, " has no column ", name, "; it has ", have, ".");
  }
  return cols[name];
}

}  // namespace

std::vector<double> moving_average(const std::vector<double>& y, int window) {
  if (window <= 1) return y;
  const int64_t n = int64_t(y.size()), half_lo = (window - 1) / 2, half_hi = window / 2;
  std::vector<double> prefix(size_t(n) + 1, 0.0), count(size_t(n) + 1, 0.0), out(size_t(n), NAN);
  for (int64_t i = 0; i < n; ++i) {
    const bool ok = std::isfinite(y[size_t(i)]);
    prefix[size_t(i) + 1] = prefix[size_t(i)] + (ok ? y[size_t(i)] : 0.0);
    count[size_t(i) + 1] = count[size_t(i)] + (ok ? 1.0 : 0.0);
  }
  for (int64_t i = 0; i < n; ++i) {
    const int64_t a = std::max<int64_t>(0, i - half_lo), b = std::min<int64_t>(n, i + half_hi + 1);
    const double c = count[size_t(b)] - count[size_t(a)];
    if (c > 0 && std::isfinite(y[size_t(i)])) out[size_t(i)] = (prefix[size_t(b)] - prefix[size_t(a)]) / c;
  }
  return out;
}

std::pair<std::string, std::string> metric_label(const std::string& c) {
  static const std::map<std::string, std::pair<std::string, std::string>> known{
      {"d_loss", {"D loss (source + genre + code terms)", "loss"}},
      {"g_loss", {"G loss (source + genre + code + spectral terms)", "loss"}},
      {"d_src_real", {"D real/fake loss on the real batch", "BCE"}},
      {"d_src_fake", {"D real/fake loss on the generated batch", "BCE"}},
      {"d_cls_real", {"D genre cross-entropy on the real batch", "cross-entropy"}},
      {"d_cls_fake", {"D genre cross-entropy on the generated batch", "cross-entropy"}},
      {"d_code", {"D code reconstruction", "MSE"}},
      {"g_src", {"G real/fake loss (D fooled = low)", "BCE"}},
      {"g_cls", {"G genre cross-entropy", "cross-entropy"}},
      {"g_code", {"G code reconstruction", "MSE"}},
      {"g_spectral", {"G spectral term (log power per ring against the real covers')", "squared log ratio"}},
      {"d_x", {"D(x): mean sigmoid of D's real/fake output on real covers", "D(x)"}},
      {"d_g_z", {"D(G(z)): mean sigmoid of D's real/fake output on generated covers", "D(G(z))"}},
      {"acc_real", {"D's genre accuracy on the real batch", "accuracy"}},
      {"acc_fake", {"D's genre accuracy on the generated batch", "accuracy"}},
      {"images_per_s", {"training speed", "images/s"}},
      {"time_s", {"wall time", "seconds"}},
      {"epoch", {"epoch", "epoch"}}};
  const auto it = known.find(c);
  return it != known.end() ? it->second : std::pair<std::string, std::string>{c, c};
}

CurveFiles plot_metrics(const std::string& csv, const std::string& out_dir, int smooth) {
  auto cols = read_metrics_csv(csv);
  // Every column is checked before the first picture is written.
  for (const char* col : {"d_loss", "g_loss", "d_x", "d_g_z", "acc_real", "acc_fake", "d_cls_real", "d_cls_fake",
                          "g_cls", "d_code"})
    CG_USER_CHECK(cols.count(col), "The file ", csv, " lacks the column ", col, "; it is not a metrics.csv of `covergan train`.");
  CG_USER_CHECK(!cols["step"].empty(), "The file ", csv, " holds no iterations yet.");
  const std::vector<double>& x = cols["step"];
  const std::string note = smooth > 1 ? " (moving average over " + std::to_string(smooth) + " iterations)" : "";
  auto panel = [&](const std::string& title, const std::string& y_label,
                   std::initializer_list<std::tuple<const char*, const char*, Rgb>> curves) {
    std::vector<PlotSeries> s;
    for (const auto& [col, label, rgb] : curves) add_series(s, label, rgb, x, column(cols, csv, col), smooth);
    return LinePanel{title + note, "iteration", y_label, s, {}};
  };
  CurveFiles f{"losses.png", "d_outputs.png", "accuracy.png", "genre_terms.png", int64_t(x.size()), {}};
  f.notes.add(write_line_panels(out_dir + "/" + f.losses,
                    {panel("D and G losses", "loss", {{"d_loss", "D loss", kRed}, {"g_loss", "G loss", kBlue}})}, 900, 400));
  f.notes.add(write_line_panels(out_dir + "/" + f.d_outputs,
                    {panel("D's real/fake output (mean sigmoid)", "probability",
                           {{"d_x", "D(x) on real covers", kGreen}, {"d_g_z", "D(G(z)) on generated covers", kRed}})},
                    900, 400));
  f.notes.add(write_line_panels(out_dir + "/" + f.accuracy,
                    {panel("D's genre accuracy on the training batches", "accuracy",
                           {{"acc_real", "real batch", kGreen}, {"acc_fake", "generated batch", kOrange}})},
                    900, 400));
  f.notes.add(write_line_panels(out_dir + "/" + f.genre_terms,
                    {panel("genre cross-entropy and code terms", "loss term",
                           {{"d_cls_real", "D CE real", kGreen}, {"d_cls_fake", "D CE generated", kOrange},
                            {"g_cls", "G CE", kBlue}, {"d_code", "D code MSE", kRed}})},
                    900, 400));
  return f;
}

std::string curve_caption(const std::string& file) {
  if (file == "losses.png")
    return "D's and G's total losses per iteration. D's falling to 0 while G's climbs means D has won and G "
           "gets no useful gradient.";
  if (file == "d_outputs.png")
    return "D(x) and D(G(z)): D's mean real/fake probability on the real and the generated batch. A healthy "
           "game keeps them apart but neither pinned at 0 or 1.";
  if (file == "accuracy.png")
    return "D's genre accuracy on the real and the generated training batches (0 while pretraining). Generated "
           "well above real: G draws genres D can tell but that do not look like the real ones.";
  if (file == "genre_terms.png")
    return "The genre cross-entropy terms of D (real, generated) and G, and D's code reconstruction error.";
  return file;
}

OverlayResult plot_overlay(const std::vector<OverlayRun>& runs, const std::vector<std::string>& metrics, int smooth,
                           const std::string& out_png) {
  CG_USER_CHECK(!runs.empty() && !metrics.empty(), "Give at least one run and one metric to plot.");
  std::vector<std::map<std::string, std::vector<double>>> cols;
  OverlayResult res;
  for (const auto& r : runs) {
    cols.push_back(read_metrics_csv(r.metrics_csv));
    CG_USER_CHECK(!cols.back()["step"].empty(), "The file ", r.metrics_csv, " holds no iterations yet.");
    for (const auto& m : metrics) column(cols.back(), r.metrics_csv, m);
    res.rows.push_back(int64_t(cols.back()["step"].size()));
  }
  std::vector<LinePanel> panels;
  for (const auto& m : metrics) {
    const auto [title, y_label] = metric_label(m);
    LinePanel p{title + (smooth > 1 ? " (moving average over " + std::to_string(smooth) + ")" : ""), "iteration",
                y_label, {}, {}};
    for (size_t k = 0; k < runs.size(); ++k)
      add_series(p.series, runs[k].name, kPalette[k % std::size(kPalette)], cols[k]["step"], cols[k][m], smooth);
    panels.push_back(std::move(p));
  }
  write_line_panels(out_png, panels, 900, 320);
  return res;
}

}  // namespace cg::gan
