// `covergan plot RUN [RUN...]`: the training curves of a run folder as PNG files (losses,
// D(x) and D(G(z)), D's genre accuracies, the genre and code terms), or with several runs
// or --metrics or -o F.png one picture overlaying the runs, a panel per metric.
#include <cstdio>
#include <filesystem>
#include <set>

#include "apps/commands.h"
#include "base/check.h"
#include "eval/eval_curves.h"

namespace covergan {
namespace {

struct Settings {
  std::vector<std::string> runs, metrics;
  std::string out;
  int smooth = 1;
} s;

void add_options(CLI::App& app) {
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("RUN", s.runs, "Run folders of `covergan train` (or their metrics.csv); several are overlaid")
      ->required()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--metrics", s.metrics,
                 "metrics.csv columns to overlay, one panel each (d_loss,g_loss,d_x,d_g_z,acc_real,...; "
                 "default d_loss,g_loss with several runs)")
      ->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--smooth", s.smooth,
                 "Moving average over N iterations, drawn over the faded raw curve (default 1: none)")
      ->check(CLI::Range(1, 1000000));
  app.add_option("-o,--out", s.out,
                 "Output: F.png for one picture (a panel per metric); with one run and no --metrics a folder "
                 "may be given instead, for the four standard pictures (default RUN/plots)");
}

std::string csv_of(const std::string& run) {
  namespace fs = std::filesystem;
  const std::string csv = fs::is_regular_file(run) ? run : run + "/metrics.csv";
  CG_USER_CHECK(fs::exists(csv), "No metrics.csv in ", run, "; give a run folder of `covergan train`.");
  return csv;
}

std::string folder_of(const std::string& run) {
  namespace fs = std::filesystem;
  if (!fs::is_regular_file(run)) return run;
  const std::string dir = fs::path(run).parent_path().string();
  return dir.empty() ? "." : dir;  // a bare "metrics.csv" is here, never "" (which made "/plots")
}

// Legend names: each run's folder name, or the path as given where two names collide.
std::vector<cg::gan::OverlayRun> overlay_runs() {
  namespace fs = std::filesystem;
  std::vector<cg::gan::OverlayRun> runs;
  std::set<std::string> names;
  bool clash = false;
  for (const auto& r : s.runs) {
    std::string n = fs::path(folder_of(r)).lexically_normal().filename().string();
    if (n.empty()) n = fs::path(folder_of(r)).lexically_normal().parent_path().filename().string();
    clash = clash || !names.insert(n).second;
    runs.push_back({n.empty() ? r : n, csv_of(r)});
  }
  if (clash)
    for (size_t k = 0; k < runs.size(); ++k) runs[k].name = s.runs[k];
  return runs;
}

int run_overlay() {
  namespace fs = std::filesystem;
  if (s.metrics.empty()) s.metrics = {"d_loss", "g_loss"};
  CG_USER_CHECK(!s.out.empty() || s.runs.size() == 1,
                "Several runs go into one picture: name it with -o FILE.png.");
  const std::string out = !s.out.empty() ? s.out : folder_of(s.runs[0]) + "/plots/overlay.png";
  CG_USER_CHECK(fs::path(out).extension() == ".png", "The overlay is a PNG: give -o a file name ending in .png, not ",
                out, ".");
  const fs::path dir = fs::path(out).parent_path();
  if (!dir.empty()) fs::create_directories(dir);
  const auto runs = overlay_runs();
  const auto r = cg::gan::plot_overlay(runs, s.metrics, s.smooth, out);
  std::printf("covergan plot: %zu run%s, %zu metric%s -> %s\n", runs.size(), runs.size() == 1 ? "" : "s",
              s.metrics.size(), s.metrics.size() == 1 ? "" : "s", out.c_str());
  for (size_t k = 0; k < runs.size(); ++k)
    std::printf("  %-24s %lld iterations from %s\n", runs[k].name.c_str(), static_cast<long long>(r.rows[k]),
                runs[k].metrics_csv.c_str());
  return 0;
}

int run_plot() {
  namespace fs = std::filesystem;
  if (s.runs.size() > 1 || !s.metrics.empty() || fs::path(s.out).extension() == ".png") return run_overlay();
  const std::string csv = csv_of(s.runs[0]);
  const std::string out = !s.out.empty() ? s.out : folder_of(s.runs[0]) + "/plots";
  cg::gan::read_metrics_csv(csv);  // a file that is no metrics.csv fails before a folder is made
  std::error_code ec;
  fs::create_directories(out, ec);
  CG_USER_CHECK(fs::is_directory(out), "Cannot create the folder ", out, ": ",
                ec ? ec.message() : std::string("a file of that name exists"), ".");
  const auto f = cg::gan::plot_metrics(csv, out, s.smooth);
  std::printf("covergan plot: %lld iterations from %s\n", static_cast<long long>(f.rows), csv.c_str());
  if (!f.notes.note().empty()) std::printf("  note: %s (noted on the plots)\n", f.notes.note().c_str());
  for (const auto& name : {f.losses, f.d_outputs, f.accuracy, f.genre_terms}) std::printf("  %s/%s\n", out.c_str(), name.c_str());
  return 0;
}

Registrar reg({"plot",
               "Training curves of a run as PNG (losses, D(x), D(G(z)), genre accuracies), or several runs "
               "overlaid metric by metric",
               add_options, run_plot});

}  // namespace
}  // namespace covergan
