// report.html from report.json (see eval_report.h): summary beside the paper's
// numbers, MS-SSIM figure and table, D's and the baseline's accuracies with
// confusion matrices, sample grids, the genre sweep and the training curves.
#include "eval/eval_report.h"

#include <cstdio>
#include <sstream>

#include "base/check.h"
#include "engine/io_util.h"
#include "eval/eval_curves.h"
#include "eval/eval_report_extra.h"

namespace cg::gan {
namespace {

using json = nlohmann::json;

std::string esc(const std::string& s) {
  std::string o;
  for (char ch : s) {
    switch (ch) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += ch;
    }
  }
  return o;
}

std::string num(double v, const char* f = "%.3f") {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// "47.0 &plusmn; 4.0 %" from {"mean","std"} fractions; "n/a" when absent.
std::string pct(const json& ms) {
  if (!ms.is_object() || !ms.contains("mean")) return "n/a";
  return num(100 * ms["mean"].get<double>(), "%.1f") + " &plusmn; " + num(100 * ms["std"].get<double>(), "%.1f") + " %";
}

const json& at(const json& j, std::initializer_list<const char*> path) {
  static const json null;
  const json* p = &j;
  for (const char* k : path) {
    if (!p->is_object() || !p->contains(k)) return null;
    p = &(*p)[k];
  }
  return *p;
}

std::string confusion_table(const json& c) {
  if (!c.is_object()) return "";
  const auto genres = c["genres"].get<std::vector<std::string>>();
  const auto& rows = c["rows_true_cols_predicted"];
  std::ostringstream h;
  h << "<table class=conf><tr><th>true \\ predicted</th>";
  for (const auto& g : genres) h << "<th>" << esc(g) << "</th>";
  h << "</tr>";
  for (size_t t = 0; t < genres.size(); ++t) {
    double total = 0;
    for (const auto& v : rows[t]) total += v.get<double>();
    h << "<tr><th>" << esc(genres[t]) << "</th>";
    for (size_t p = 0; p < genres.size(); ++p) {
      const double v = rows[t][p].get<double>(), f = total > 0 ? v / total : 0;
      h << "<td style=\"background:rgba(" << (t == p ? "40,140,60," : "200,60,40,") << num(0.85 * f, "%.2f")
        << ")\">" << static_cast<long long>(v) << "</td>";
    }
    h << "</tr>";
  }
  h << "</table>";
  return h.str();
}

std::string img(const std::string& file, const std::string& alt, const char* cls = "") {
  return "<figure class=\"" + std::string(cls) + "\"><img src=\"" + esc(file) + "\" alt=\"" + esc(alt) +
         "\"><figcaption>" + esc(alt) + "</figcaption></figure>";
}

const char* kStyle = R"(
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em} h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0} td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th{background:#f3f3f3} td:first-child,th:first-child{text-align:left}
table.conf td{min-width:3.5em;text-align:center}
.note{background:#fff8e0;border-left:4px solid #e0b000;padding:.5em 1em;margin:.8em 0}
figure{display:inline-block;margin:.5em 1em .5em 0;vertical-align:top} figcaption{font-size:.85em;color:#555}
img{image-rendering:pixelated;max-width:100%} .wide img{width:900px} .grid img{width:520px} .sweep img{width:280px} .curve img{width:800px}
.small{color:#666;font-size:.9em}
)";

std::string summary(const json& r) {
  const json& d = r["d_accuracy"];
  const json& real = d.contains("real_held_out") ? d["real_held_out"] : d.contains("real_unknown") ? d["real_unknown"] : d["real_trained_on"];
  const char* real_label = d.contains("real_held_out") ? "held-out real covers (the run never trained on them)"
                           : d.contains("real_unknown") ? "real covers (training file unavailable: may include trained-on covers)"
                                                        : "real covers the run <b>trained on</b> (none held out)";
  std::ostringstream h;
  h << "<table><tr><th>genre accuracy</th><th>this model</th><th>paper</th></tr>";
  h << "<tr><td>D on generated covers of known genre</td><td>" << pct(at(d, {"generated", "accuracy"}))
    << "</td><td>35 &plusmn; 2 %</td></tr>";
  h << "<tr><td>D on " << real_label << "</td><td>" << pct(at(real, {"accuracy"})) << "</td><td>47 &plusmn; 4 % (held out)</td></tr>";
  h << "<tr><td>baseline (D's architecture, real covers only) on held-out real covers</td><td>"
    << pct(at(r, {"baseline", "real_held_out", "accuracy"})) << "</td><td>59 &plusmn; 4 %</td></tr>";
  if (at(r, {"baseline", "real_unseen_by_run"}).is_object())
    h << "<tr><td>baseline on the run's held-out covers (seen by neither G, D nor the baseline)</td><td>"
      << pct(at(r, {"baseline", "real_unseen_by_run", "accuracy"})) << "</td><td>&mdash;</td></tr>";
  h << "<tr><td>baseline on generated covers (beyond the paper)</td><td>"
    << pct(at(r, {"baseline", "generated", "accuracy"})) << "</td><td>&mdash;</td></tr>";
  h << "<tr><td>chance (1 / genres)</td><td>" << num(100.0 / double(r["checkpoint"]["genres"].size()), "%.1f")
    << " %</td><td>20 %</td></tr></table>";
  h << "<p class=small>mean &plusmn; sample standard deviation over " << r["settings"]["folds"].get<int>()
    << " folds (real covers: stratified folds; generated covers: disjoint chunks for D, one classifier per fold for the baseline).</p>";
  return h.str();
}

std::string msssim_table(const json& m) {
  std::ostringstream h;
  h << "<table><tr><th>genre</th><th>real-real median</th><th>real-generated median</th><th>generated-generated "
       "median</th><th>generated-generated mean</th><th>real-real mean</th></tr>";
  for (const auto& g : m["per_genre"])
    h << "<tr><td>" << esc(g["genre"].get<std::string>()) << "</td><td>" << num(g["real_real"]["median"]) << "</td><td>"
      << num(g["real_generated"]["median"]) << "</td><td>" << num(g["generated_generated"]["median"]) << "</td><td>"
      << num(g["generated_generated"]["mean"]) << "</td><td>" << num(g["real_real"]["mean"]) << "</td></tr>";
  h << "</table>";
  return h.str();
}

}  // namespace

std::vector<std::string> report_images(const json& r) {
  std::vector<std::string> out{r["msssim"]["figure"].get<std::string>()};
  const json& im = r["images"];
  for (const char* k : {"real", "samples", "genre_sweep"}) out.push_back(im[k].get<std::string>());
  if (im.contains("curves"))
    for (const auto& c : im["curves"]) out.push_back(c.get<std::string>());
  for (const auto& e : extra_report_images(r)) out.push_back(e);
  return out;
}

std::string report_html(const json& r) {
  const json& ck = r["checkpoint"];
  const json& d = r["d_accuracy"];
  std::ostringstream h;
  h << "<!doctype html><html><head><meta charset=utf-8><title>covergan evaluation</title><style>" << kStyle
    << "</style></head><body>";
  h << "<h1>covergan evaluation</h1><p>Checkpoint <code>" << esc(ck["path"].get<std::string>()) << "</code> (step "
    << ck["step"].get<int64_t>() << ", " << ck["image_size"].get<int>() << "&times;" << ck["image_size"].get<int>()
    << ", base " << ck["base_channels"].get<int>() << " channels) on <code>" << esc(r["dataset"]["path"].get<std::string>())
    << "</code> (" << r["dataset"]["count"].get<int64_t>() << " covers). Every number here is in "
    << "<a href=\"report.json\">report.json</a>; how each is made: docs/EVALUATION.md.</p>";
  h << "<h2>Summary</h2>" << summary(r) << advice_html(r);
  if (!d.contains("real_held_out"))
    h << "<div class=note>No held-out real covers: " << (d["real_split"] == "compared"
             ? "every cover of this dataset is in the run's training file, so D's real accuracy is measured on covers it "
               "trained on and is optimistic, not the paper's held-out number. Train on one .cgd and evaluate with "
               "<code>--data</code> on another to get it."
             : "the run's training file is not available or has changed" +
                   (d.contains("real_split_reason") ? " (" + esc(d["real_split_reason"].get<std::string>()) + ")"
                                                    : std::string()) +
                   ", so it is unknown which of these covers D trained on.")
      << "</div>";
  h << "<h2>Diversity: MS-SSIM per genre</h2><p>As the paper's Fig. 3a, with generated-generated pairs added (the "
       "AC-GAN paper's test): " << r["msssim"]["pairs_per_kind"].get<int>() << " random pairs per genre and kind. "
       "Higher means more alike; generated-generated well above real-real means mode collapse. Boxes: quartiles, "
       "white bar: median, whiskers: min and max.</p>"
    << img(r["msssim"]["figure"], "MS-SSIM per genre", "wide") << msssim_table(r["msssim"]) << msssim_alt_html(r)
    << frechet_html(r) << speckle_html(r);
  h << "<h2>D's genre head</h2><h3>on generated covers of known genre</h3>"
    << confusion_table(at(d, {"generated", "confusion"}));
  for (const char* k : {"real_held_out", "real_trained_on", "real_unknown"})
    if (d.contains(k))
      h << "<h3>on real covers: " << (std::string(k) == "real_held_out" ? "held out" : std::string(k) == "real_trained_on" ? "trained on" : "training file unknown")
        << " (" << pct(d[k]["accuracy"]) << ")</h3>" << confusion_table(d[k]["confusion"]);
  const json& b = r["baseline"];
  h << "<h2>Baseline classifier (an independent judge)</h2><p>D's architecture trained only to classify real covers "
       "(source: " << esc(b["source"].get<std::string>()) << "). Never having seen G, does it recognise the genre of G's covers?</p>";
  h << "<h3>on held-out real covers (" << pct(at(b, {"real_held_out", "accuracy"})) << ")</h3>"
    << confusion_table(at(b, {"real_held_out", "confusion"}));
  h << "<h3>on generated covers (" << pct(at(b, {"generated", "accuracy"}))
    << "; confusion summed over the fold models, each judging every generated cover)</h3>"
    << confusion_table(at(b, {"generated", "confusion"}));
  const json& im = r["images"];
  h << "<h2>Covers</h2>" << img(im["real"], "real covers, one row per genre", "grid")
    << img(im["samples"], "generated covers, one row per genre", "grid")
    << "<h2>Genre sweep (Fig. 3b)</h2><p>Each row: one noise and code vector; each column: a genre ("
    << esc([&] { std::string s; for (const auto& g : ck["genres"]) s += (s.empty() ? "" : ", ") + g.get<std::string>(); return s; }())
    << ").</p>" << img(im["genre_sweep"], "the same latent point in every genre", "sweep");
  if (im.contains("curves")) {
    h << "<h2>Training curves</h2>";
    for (const auto& c : im["curves"]) h << img(c.get<std::string>(), curve_caption(c.get<std::string>()), "curve");
  }
  h << "<p class=small>Settings: " << esc(r["settings"].dump()) << "; " << num(r["seconds"].get<double>(), "%.0f")
    << " s.</p></body></html>\n";
  return h.str();
}

void write_report(const std::string& dir, const json& r) {
  write_file_atomic(dir + "/report.json", r.dump(2) + "\n", "the report's numbers");
  write_file_atomic(dir + "/report.html", report_html(r), "the report page");
}

}  // namespace cg::gan
