// `covergan plot RUN`: the training curves of a run folder (losses, D(x) and
// D(G(z)), D's genre accuracies, the genre and code terms) as PNG files.
#include <cstdio>
#include <filesystem>

#include "apps/commands.h"
#include "base/check.h"
#include "eval/eval_curves.h"

namespace covergan {
namespace {

struct Settings {
  std::string run, out;
} s;

void add_options(CLI::App& app) {
  app.add_option("RUN", s.run, "A run folder of `covergan train` (or its metrics.csv)")->required();
  app.add_option("-o,--out", s.out, "Where the PNGs go (default RUN/plots)");
}

int run_plot() {
  namespace fs = std::filesystem;
  const bool is_csv = fs::is_regular_file(s.run);
  const std::string csv = is_csv ? s.run : s.run + "/metrics.csv";
  CG_USER_CHECK(fs::exists(csv), "No metrics.csv in ", s.run, "; give a run folder of `covergan train`.");
  const std::string out = !s.out.empty() ? s.out : (is_csv ? fs::path(s.run).parent_path().string() : s.run) + "/plots";
  fs::create_directories(out);
  const auto f = cg::gan::plot_metrics(csv, out);
  std::printf("covergan plot: %lld iterations from %s\n", static_cast<long long>(f.rows), csv.c_str());
  for (const auto& name : {f.losses, f.d_outputs, f.accuracy, f.genre_terms}) std::printf("  %s/%s\n", out.c_str(), name.c_str());
  return 0;
}

Registrar reg({"plot", "Training curves of a run (losses, D(x), D(G(z)), genre accuracies) as PNG", add_options,
               run_plot});

}  // namespace
}  // namespace covergan
