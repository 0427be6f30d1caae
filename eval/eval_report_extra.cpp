// report.html sections for the MS-SSIM scales, Fréchet distance, precision/recall and
// speckle (see eval_report_extra.h).
#include "eval/eval_report_extra.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "eval/json_path.h"

namespace cg::gan {
namespace {

using json = nlohmann::json;

std::string esc(const std::string& s) {
  std::string o;
  for (char ch : s) o += ch == '&' ? "&amp;" : ch == '<' ? "&lt;" : ch == '>' ? "&gt;" : ch == '"' ? "&quot;" : std::string(1, ch);
  return o;
}

std::string num(double v, const char* f = "%.3f") {
  if (!std::isfinite(v)) return "&ndash;";
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

std::string interval(const json& j) {
  if (!j.is_object()) return "&ndash;";
  return num(json_number(j, {"value"}), "%.2f") + " <span class=small>[" + num(json_number(j, {"lo"}), "%.2f") + ", " +
         num(json_number(j, {"hi"}), "%.2f") + "]</span>";
}

}  // namespace

std::string msssim_alt_html(const json& r) {
  const json& m = r["msssim"];
  if (!m.contains("alt")) return "";
  const int n = m["alt"]["scales"].get<int>(), S = r["checkpoint"]["image_size"].get<int>();
  std::ostringstream h;
  h << "<h3>At " << n << " scales beside the paper's 5</h3><p>At " << S << "&times;" << S
    << " the paper's fifth scale is " << (S >> 4) << "&times;" << (S >> 4) << " pixels with a " << (S >> 4)
    << "-pixel window: its contrast term is often negative for unrelated covers, and the clamp max(CS,0) then makes "
       "the whole product 0, so boxes touch 0 and medians can be exactly 0. With " << n
    << " scales the coarsest is " << m["alt"]["coarsest_px"].get<int>() << " pixels and the weights are the first " << n
    << " of the paper's, renormalised to sum to 1. Same pairs as above (means).</p>";
  h << "<table><tr><th>genre</th><th>real-real (5 / " << n << ")</th><th>real-generated (5 / " << n
    << ")</th><th>generated-generated (5 / " << n << ")</th><th>excess of generated over real (" << n << ")</th></tr>";
  for (const auto& g : m["per_genre"]) {
    if (!g.contains("alt")) continue;
    const json& a = g["alt"];
    h << "<tr><td>" << esc(g["genre"].get<std::string>()) << "</td>";
    for (const char* k : {"real_real", "real_generated", "generated_generated"})
      h << "<td>" << num(json_number(g, {k, "mean"})) << " / " << num(json_number(a, {k, "mean"})) << "</td>";
    h << "<td>" << num(json_number(a, {"generated_generated", "mean"}) - json_number(a, {"real_real", "mean"}), "%+.3f") << "</td></tr>";
  }
  h << "</table>";
  return h.str();
}

std::string frechet_html(const json& r) {
  if (!r.contains("frechet")) return "";
  const json& f = r["frechet"];
  std::ostringstream h;
  h << "<h2>Fidelity and diversity in the baseline's features</h2><p>Features: " << esc(f["features"].get<std::string>())
    << " (" << f.value("dimensions", 0) << " values per cover; " << esc(f["model"].get<std::string>())
    << "). Real covers: the " << f["real_unseen_by_model"].get<int64_t>()
    << " this classifier never trained on, split at random into halves per genre. <b>Fr&eacute;chet distance</b> (FID's "
       "formula in these features, not Inception's: docs/EVALUATION.md): generated covers (as many as a half) against "
       "one half; <b>real-real</b> is the other half against the same one, the value a generator that drew new real "
       "covers would get at these sample sizes. Lower is closer; brackets: 95 % bootstrap interval. <b>Precision</b>: "
       "share of generated covers inside the real covers' k-NN manifold (k = 3, Kynk&auml;&auml;nniemi et al. 2019), "
       "fidelity; <b>recall</b>: share of real covers inside the generated manifold, diversity.</p>";
  if (!f.value("model_training_known", false))
    h << "<div class=note>The classifier file does not record which covers it trained on (an older file): every cover "
         "counts as unseen, and covers it trained on make the real-real distance small.</div>";
  h << "<table><tr><th>genre</th><th>Fr&eacute;chet distance</th><th>real-real</th><th>precision</th><th>recall</th>"
       "<th>precision / recall real-real</th><th>covers (generated / real half / reference half)</th></tr>";
  auto row = [&](const std::string& name, const json& c) {
    h << "<tr><td>" << esc(name) << "</td><td>" << interval(c.value("fid", json())) << "</td><td>"
      << interval(c.value("fid_real_real", json())) << "</td><td>" << num(json_number(c, {"precision"})) << "</td><td>"
      << num(json_number(c, {"recall"})) << "</td><td>" << num(json_number(c, {"precision_real_real"})) << " / "
      << num(json_number(c, {"recall_real_real"})) << "</td><td>" << c.value("n_generated", 0) << " / "
      << c.value("n_real_other", 0) << " / " << c.value("n_real_reference", 0) << "</td></tr>";
  };
  for (const auto& g : f["per_genre"]) row(g["genre"].get<std::string>(), g);
  row("all genres", f["overall"]);
  h << "</table>";
  return h.str();
}

std::string speckle_html(const json& r) {
  if (!r.contains("speckle")) return "";
  const json& s = r["speckle"];
  std::ostringstream h;
  h << "<h2>Speckle: high-frequency energy</h2><p>Per genre, the mean squared Laplacian (4-neighbour, every RGB "
       "channel on [0,255]) of the generated covers against the real ones, and the share of each cover's power above "
       "a quarter of the sampling rate (radially averaged power spectrum, DC excluded). A ratio well above 1 is what "
       "the eye sees as speckle or noise where real covers are clean; well below 1, blur. The corners' ratio is the "
       "generated covers' mean power at radii past S/2 (diagonal frequencies beyond each axis' Nyquist, where a "
       "transposed convolution's checkerboard lies) over the real covers'.</p>";
  h << "<table><tr><th>genre</th><th>mean squared Laplacian real</th><th>generated</th><th>ratio</th>"
       "<th>high-band share real</th><th>generated</th><th>corners' power, generated / real</th></tr>";
  auto row = [&](const std::string& name, const json& g) {
    h << "<tr><td>" << esc(name) << "</td><td>" << num(json_number(g, {"real", "laplacian"}), "%.1f") << "</td><td>"
      << num(json_number(g, {"generated", "laplacian"}), "%.1f") << "</td><td>" << num(json_number(g, {"laplacian_ratio"}), "%.2f")
      << "</td><td>" << num(json_number(g, {"real", "high_share"})) << "</td><td>" << num(json_number(g, {"generated", "high_share"}))
      << "</td><td>" << num(json_number(g, {"corner_ratio"}), "%.2f") << "</td></tr>";
  };
  for (const auto& g : s["per_genre"]) row(g["genre"].get<std::string>(), g);
  row("all genres", s["overall"]);
  h << "</table>";
  for (const auto& f : s["figures"])
    h << "<figure class=curve><img src=\"" << esc(f.get<std::string>()) << "\"><figcaption>" << esc(f.get<std::string>())
      << "</figcaption></figure>";
  return h.str();
}

std::string advice_html(const json& r) {
  if (!r.contains("advice") || r["advice"].empty()) return "";
  std::ostringstream h;
  h << "<h2>What to try next</h2><p>Each signal against issue 26's goal, and where one is missed the training flag "
       "docs/SMALL_SETS.md measured to move it (eval/eval_advice.h).</p>";
  h << "<table><tr><th>signal</th><th>value</th><th>goal</th><th>met</th><th>to try</th></tr>";
  for (const auto& a : r["advice"])
    h << "<tr><td>" << esc(a["signal"].get<std::string>()) << "</td><td>" << num(json_number(a, {"value"}), "%.3g")
      << "</td><td>" << esc(a["goal"].get<std::string>()) << "</td><td>" << (a["met"].get<bool>() ? "yes" : "<b>no</b>")
      << "</td><td>" << esc(a["advice"].get<std::string>()) << "</td></tr>";
  h << "</table>";
  return h.str();
}

std::vector<std::string> extra_report_images(const json& r) {
  std::vector<std::string> out;
  if (r.contains("speckle"))
    for (const auto& f : r["speckle"]["figures"]) out.push_back(f.get<std::string>());
  return out;
}

}  // namespace cg::gan
