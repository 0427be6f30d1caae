// Evaluation over a run's checkpoints (see eval_all.h).
#include "eval/eval_all.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "base/check.h"
#include "data/plot.h"
#include "engine/io_util.h"
#include "eval/json_path.h"
#include "gan/run_dir.h"

namespace cg::gan {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct Metric {
  const char* name;
  bool higher_better;
  const char* what;
};
const Metric kMetrics[] = {
    {"fid", false, "Frechet distance of generated to real covers in the baseline's features, all genres"},
    {"msssim_excess", false, "the largest excess of generated-generated over real-real MS-SSIM over the genres"},
    {"recall", true, "k-NN recall (the share of real covers within the generated manifold)"},
    {"precision", true, "k-NN precision (the share of generated covers within the real manifold)"},
    {"baseline_gap", false, "|baseline accuracy on generated - on held-out real covers|"},
    {"speckle", false, "the largest |ln(high-frequency energy generated / real)| over the genres"},
};

}  // namespace

std::vector<std::string> best_by_names() {
  std::vector<std::string> v;
  for (const Metric& m : kMetrics) v.push_back(m.name);
  return v;
}

std::string best_by_help() {
  std::string s;
  for (const Metric& m : kMetrics) s += std::string(s.empty() ? "" : "; ") + m.name + ": " + m.what;
  return s + " (default fid)";
}

json checkpoint_summary(const json& r) {
  json s;
  s["step"] = r["checkpoint"]["step"];
  s["path"] = r["checkpoint"]["path"];
  s["fid"] = json_number(r, {"frechet", "overall", "fid", "value"});
  s["fid_lo"] = json_number(r, {"frechet", "overall", "fid", "lo"});
  s["fid_hi"] = json_number(r, {"frechet", "overall", "fid", "hi"});
  s["fid_real_real"] = json_number(r, {"frechet", "overall", "fid_real_real", "value"});
  s["precision"] = json_number(r, {"frechet", "overall", "precision"});
  s["recall"] = json_number(r, {"frechet", "overall", "recall"});
  double excess = -INFINITY, excess5 = -INFINITY, speckle = -INFINITY;
  for (const auto& g : r["msssim"]["per_genre"]) {
    const json& a = g.contains("alt") ? g["alt"] : g;
    excess = std::max(excess, json_number(a, {"generated_generated", "mean"}) - json_number(a, {"real_real", "mean"}));
    excess5 = std::max(excess5, json_number(g, {"generated_generated", "mean"}) - json_number(g, {"real_real", "mean"}));
  }
  if (r.contains("speckle"))
    for (const auto& g : r["speckle"]["per_genre"]) speckle = std::max(speckle, std::fabs(std::log(json_number(g, {"laplacian_ratio"}))));
  s["msssim_excess"] = std::isfinite(excess) ? excess : NAN;
  s["msssim_excess_paper"] = std::isfinite(excess5) ? excess5 : NAN;
  s["speckle"] = std::isfinite(speckle) ? speckle : NAN;
  s["laplacian_ratio"] = json_number(r, {"speckle", "overall", "laplacian_ratio"});
  s["baseline_generated"] = json_number(r, {"baseline", "generated", "accuracy", "mean"});
  const double unseen = json_number(r, {"baseline", "real_unseen_by_run", "accuracy", "mean"});
  s["baseline_real"] = std::isfinite(unseen) ? unseen : json_number(r, {"baseline", "real_held_out", "accuracy", "mean"});
  s["baseline_gap"] = s["baseline_generated"].get<double>() - s["baseline_real"].get<double>();
  s["d_generated"] = json_number(r, {"d_accuracy", "generated", "accuracy", "mean"});
  const double dh = json_number(r, {"d_accuracy", "real_held_out", "accuracy", "mean"});
  s["d_real"] = std::isfinite(dh) ? dh : json_number(r, {"d_accuracy", "real_trained_on", "accuracy", "mean"});
  return s;
}

double best_by_cost(const json& s, const std::string& by) {
  for (const Metric& m : kMetrics)
    if (by == m.name) {
      const double v = by == "baseline_gap" ? std::fabs(json_number(s, {"baseline_gap"})) : json_number(s, {m.name});
      return m.higher_better ? -v : v;
    }
  throw Error(detail::cat("Unknown metric \"", by, "\" for --best-by; one of: ", best_by_help(), "."));
}

namespace {

// ", the latest within 2 % of the lowest (step 2000)" when --best-within kept another step.
std::string within_note(const json& best) {
  if (best.value("within_percent", 0.0) <= 0 || best["lowest_step"] == best["step"]) return "";
  std::ostringstream o;
  o << ", the latest within " << best["within_percent"].get<double>() << " % of the lowest (step "
    << best["lowest_step"].get<int64_t>() << ")";
  return o.str();
}

void curves(const std::string& dir, const json& rows, json& images) {
  auto series = [&](const char* key, const char* name, std::array<uint8_t, 3> color) {
    PlotSeries p{name, color, {}, {}};
    for (const auto& r : rows) p.x.push_back(r["step"].get<double>()), p.y.push_back(json_number(r, {key}));
    return p;
  };
  struct Fig {
    const char* file;
    const char* title;
    std::vector<PlotSeries> s;
  };
  const std::vector<Fig> figs = {
      {"curve_fid.png", "Frechet distance in the baseline's features (lower: closer to real covers)",
       {series("fid", "generated-real", {200, 50, 50}), series("fid_real_real", "real-real", {40, 140, 60})}},
      {"curve_precision_recall.png", "k-NN precision and recall (1: as a second set of real covers)",
       {series("precision", "precision", {40, 110, 200}), series("recall", "recall", {200, 140, 20})}},
      {"curve_msssim.png", "worst genre: generated-generated minus real-real MS-SSIM (0: as diverse as real)",
       {series("msssim_excess", "alt scales", {140, 60, 170}), series("msssim_excess_paper", "5 scales", {120, 120, 120})}},
      {"curve_accuracy.png", "genre accuracy",
       {series("baseline_generated", "baseline on generated", {200, 50, 50}),
        series("baseline_real", "baseline on real", {40, 140, 60}), series("d_generated", "D on generated", {200, 140, 20}),
        series("d_real", "D on real", {40, 110, 200})}},
      {"curve_speckle.png", "high-frequency energy, generated / real (1: as real)",
       {series("laplacian_ratio", "all genres", {200, 50, 50})}},
  };
  for (const Fig& f : figs) {
    write_line_plot(dir + "/" + f.file, f.s, f.title);
    images.push_back(f.file);
  }
}

std::string fmt(double v, const char* f = "%.3f") {
  if (!std::isfinite(v)) return "&ndash;";
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

std::string page(const json& r) {
  std::ostringstream h;
  h << "<!doctype html><html><head><meta charset=utf-8><title>covergan evaluation over training</title><style>"
       "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
       "table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}"
       "th{background:#f3f3f3} tr.best td{background:#e6f4e6;font-weight:bold} img{max-width:100%}"
       "</style></head><body><h1>covergan evaluation over training</h1>";
  h << "<p>Run <code>" << r["run"].get<std::string>() << "</code> on <code>" << r["data"].get<std::string>()
    << "</code>: every checkpoint evaluated with the same settings and seed (the same latent draws). Best by <b>"
    << r["best"]["by"].get<std::string>() << "</b>: step " << r["best"]["step"].get<int64_t>() << " (<code>"
    << r["best"]["path"].get<std::string>() << "</code>)" << within_note(r["best"]) << ". Numbers: <a href=\"report.json\">report.json</a>; each "
    << "checkpoint's full report is linked from its step.</p><table><tr><th>step</th><th>Frechet distance [95% interval]</th>"
       "<th>real-real</th><th>precision</th><th>recall</th><th>MS-SSIM excess (alt / 5 scales)</th>"
       "<th>baseline gen / real</th><th>D gen / real</th><th>HF energy ratio</th></tr>";
  for (const auto& s : r["checkpoints"]) {
    const int64_t step = s["step"].get<int64_t>();
    h << "<tr" << (step == r["best"]["step"].get<int64_t>() ? " class=best" : "") << "><td><a href=\""
      << s["report"].get<std::string>() << "\">" << step << "</a></td><td>" << fmt(json_number(s, {"fid"}), "%.2f") << " ["
      << fmt(json_number(s, {"fid_lo"}), "%.2f") << ", " << fmt(json_number(s, {"fid_hi"}), "%.2f") << "]</td><td>"
      << fmt(json_number(s, {"fid_real_real"}), "%.2f") << "</td><td>" << fmt(json_number(s, {"precision"})) << "</td><td>"
      << fmt(json_number(s, {"recall"})) << "</td><td>" << fmt(json_number(s, {"msssim_excess"}), "%+.3f") << " / "
      << fmt(json_number(s, {"msssim_excess_paper"}), "%+.3f") << "</td><td>" << fmt(100 * json_number(s, {"baseline_generated"}), "%.1f")
      << " / " << fmt(100 * json_number(s, {"baseline_real"}), "%.1f") << " %</td><td>" << fmt(100 * json_number(s, {"d_generated"}), "%.1f")
      << " / " << fmt(100 * json_number(s, {"d_real"}), "%.1f") << " %</td><td>" << fmt(json_number(s, {"laplacian_ratio"}), "%.2f")
      << "</td></tr>";
  }
  h << "</table>";
  for (const auto& im : r["images"]) h << "<p><img src=\"" << im.get<std::string>() << "\"></p>";
  h << "</body></html>\n";
  return h.str();
}

}  // namespace

size_t choose_checkpoint(const std::vector<double>& costs, double within_percent) {
  CG_CHECK(!costs.empty(), "choose_checkpoint needs at least one checkpoint");
  size_t lowest = costs.size() - 1;
  for (size_t i = 0; i < costs.size(); ++i)
    if (std::isfinite(costs[i]) && (!std::isfinite(costs[lowest]) || costs[i] <= costs[lowest])) lowest = i;
  if (!std::isfinite(costs[lowest])) return costs.size() - 1;
  const double limit = costs[lowest] + std::fabs(costs[lowest]) * within_percent / 100.0;
  size_t kept = lowest;
  for (size_t i = lowest + 1; i < costs.size(); ++i)
    if (std::isfinite(costs[i]) && costs[i] <= limit) kept = i;
  return kept;
}

json run_eval_all(EvalOptions opt, const std::string& best_by, double best_within_percent) {
  CG_USER_CHECK(fs::is_directory(opt.ckpt), "--all-checkpoints takes a run folder as --ckpt, not ", opt.ckpt, ".");
  best_by_cost(json::object(), best_by);  // an unknown metric fails before any work
  const auto cks = RunDir(opt.ckpt).checkpoints();
  CG_USER_CHECK(!cks.empty(), "The folder ", opt.ckpt, " holds no checkpoints (checkpoints/step_*.safetensors).");
  fs::create_directories(opt.out);
  json rows = json::array();
  const std::string run = opt.ckpt;
  for (size_t i = 0; i < cks.size(); ++i) {
    const auto& [step, path] = cks[i];
    char sub[32];
    std::snprintf(sub, sizeof sub, "step_%08lld", static_cast<long long>(step));
    EvalOptions o = opt;
    o.ckpt = path;
    o.out = opt.out + "/" + sub;
    if (!opt.quiet) std::printf("== checkpoint %zu of %zu: %s ==\n", i + 1, cks.size(), path.c_str());
    const json r = run_eval(o);
    // The first checkpoint's cross-validated baseline serves every later one.
    if (opt.classifier.empty()) opt.classifier = o.out + "/classifier";
    json s = checkpoint_summary(r);
    s["report"] = std::string(sub) + "/report.html";
    rows.push_back(s);
  }
  std::vector<double> costs;
  for (const auto& row : rows) costs.push_back(best_by_cost(row, best_by));
  const size_t best = choose_checkpoint(costs, best_within_percent), lowest = choose_checkpoint(costs, 0);
  json r = {{"run", run}, {"data", opt.data}, {"checkpoints", rows}, {"all_checkpoints", true}};
  r["best"] = {{"by", best_by}, {"step", rows[best]["step"]}, {"path", rows[best]["path"]},
               {"value", rows[best].value(best_by, NAN)}, {"within_percent", best_within_percent},
               {"lowest_step", rows[lowest]["step"]}, {"lowest_value", rows[lowest].value(best_by, NAN)}};
  json images = json::array();
  curves(opt.out, rows, images);
  r["images"] = images;
  write_file_atomic(opt.out + "/report.json", r.dump(2) + "\n", "the report's numbers");
  write_file_atomic(opt.out + "/report.html", page(r), "the report page");
  return r;
}

}  // namespace cg::gan
