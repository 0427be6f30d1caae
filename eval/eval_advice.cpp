// recipe_advice: eval's signals against issue 26's goals, and the flag docs/SMALL_SETS.md
// measured to move each. The numbers quoted in the advice are that page's.
#include "eval/eval_advice.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "eval/json_path.h"

namespace cg::gan {
namespace {

using json = nlohmann::json;

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

json item(const std::string& signal, double value, const std::string& goal, bool met, const std::string& advice) {
  return {{"signal", signal}, {"value", value}, {"goal", goal}, {"met", met}, {"advice", met ? "" : advice}};
}

// The baseline on generated covers against real ones no model saw: the run's held-out
// covers, else the baseline's own held-out folds.
void genre_gap(const json& r, double g_weight, double base, json& out) {
  const double gen = json_number(r, {"baseline", "generated", "accuracy", "mean"});
  double real = json_number(r, {"baseline", "real_unseen_by_run", "accuracy", "mean"});
  if (std::isnan(real)) real = json_number(r, {"baseline", "real_held_out", "accuracy", "mean"});
  if (std::isnan(gen) || std::isnan(real)) return;
  const double gap = 100 * (gen - real);
  std::string advice;
  if (gap > 0)
    advice = "the baseline recognises generated covers " + fmt("%.1f", gap) +
             " points more often than real ones no model saw: each genre leans towards its most typical cover. " +
             (g_weight > 0.5 ? std::string("Try --g-genre-weight 0.5 (on the emoji it took this gap from +10.9 to "
                                           "+4.8 points).")
                             : "G's genre term is already at " + fmt("%g", g_weight) + "; " +
                                   (base < 64 ? "try twice the width, --base-channels 64 (on the emoji, with the term "
                                                "at 0.5, it took this gap from +6.0 to -3.6 points; it faded the "
                                                "synthetic covers' genres)."
                                              : "5000 iterations instead of 3000 narrowed the gap on the emoji."));
  else
    advice = "the baseline recognises generated covers " + fmt("%.1f", -gap) +
             " points less often than real ones: the genres are faded. " +
             (g_weight < 1 ? "Raise --g-genre-weight towards the paper's 1 (at 0.5 the demo covers lost 21 points)."
                           : "At the paper's genre weight no measured flag closes this; compare checkpoints "
                             "(eval --all-checkpoints).");
  out.push_back(item("baseline on generated - on unseen real covers (points)", gap,
                     "within " + fmt("%g", kAdviceGapPoints) + " points", std::fabs(gap) <= kAdviceGapPoints,
                     advice + " One run's gap moves by about 5 points from the sample alone: compare seeds."));
}

// The worst genre's generated-generated MS-SSIM over real-real (the alternative scales when
// eval computed them: at 32 px the paper's fifth scale is 2x2).
void msssim_excess(const json& r, bool ema, bool hflip, bool icnr, json& out) {
  if (!r.contains("msssim") || !r["msssim"].contains("per_genre")) return;
  double worst = -INFINITY;
  std::string genre;
  for (const json& g : r["msssim"]["per_genre"]) {
    const json& m = g.contains("alt") ? g["alt"] : g;
    const double e = json_number(m, {"generated_generated", "mean"}) - json_number(m, {"real_real", "mean"});
    if (e > worst) worst = e, genre = g.value("genre", "");
  }
  if (!std::isfinite(worst)) return;
  const std::string advice =
      "generated " + genre + " covers are more alike than real ones (" + fmt("%+.3f", worst) + "). " +
      (!ema     ? "Sample from the weight average (--ema 0.999)."
       : !hflip ? "Add --hflip (random flips kept the demo's rap covers apart: +0.14 to +0.08)."
       : !icnr  ? "Start G without a checkerboard, --g-init icnr (the demo covers' worst genre inside +0.05 in 4 of 6 "
                  "seeds against 2 of 6; no change on the emoji)."
                : "The other options measured in docs/SMALL_SETS.md move this by less than the seed spread; the "
                  "checkpoints differ by about 0.07 (eval --all-checkpoints).");
  out.push_back(item("worst genre's MS-SSIM, generated-generated - real-real", worst,
                     "at most +" + fmt("%g", kAdviceMsssimExcess), worst <= kAdviceMsssimExcess, advice));
}

// What the speckle advice says where the genre furthest from the real energy is noisier:
// the corners' ratio (NaN in reports from before it) tells a checkerboard from the rest.
std::string speckle_noisy(const std::string& genre, double far, double corners, bool ema, bool resize) {
  const bool known = std::isfinite(corners);
  const std::string head = "generated " + genre + " covers carry " + fmt("%.2f", far) +
                           " times the real high-frequency energy (speckle)" +
                           (known ? ", " + fmt("%.2f", corners) + " times the real power in the spectrum's corners" : "") +
                           ". ";
  if (!ema) return head + "Sample from the weight average (--ema 0.999: the demo's worst genre 2.41 to 1.95).";
  if (known && corners < kAdviceCornerHigh)
    return head + "The excess lies below S/2, not in a checkerboard: --g-deconv resize would not remove it "
                  "(spectrum_ratio.png shows where it is).";
  if (resize) return head + "G's transposed convolutions are already kept to resize-convolutions.";
  return head + "Keep G's transposed convolutions from painting a checkerboard, --g-deconv resize (on the demo covers "
                "it took the noisiest genre from 1.44-1.69 to 1.01-1.65, and to 0.92-1.13 with --g-deconv-strength "
                "0.1, but left the genres with the finest detail too smooth), or ask G for the real spectrum, "
                "--g-spectral 3 (the demo covers' corners from 2-4x to 1.0-1.3 in every genre: docs/SMALL_SETS.md).";
}

// What the speckle advice adds where the genre furthest from the real energy is smoother:
// a weight average blurs the detail G draws, most of all once G is asked for it.
std::string speckle_smooth(bool ema, bool spectral) {
  if (ema && spectral)
    return " The weight average blurs the detail G draws: let the learning rates fall over the last ~500 "
           "iterations and average over fewer (--lr-decay-from STEPS-500 --ema 0.99: on the demo covers every genre "
           "inside 0.8-1.2 in 3 of 6 seeds against 0, at a cost in MS-SSIM; eval --no-ema shows G's own covers).";
  if (ema)
    return " The weight average blurs fine detail; ask G for the real spectrum and keep the average short: "
           "--g-spectral 3 --lr-decay-from STEPS-500 --ema 0.99 (on the demo covers every genre inside 0.8-1.2 in 3 "
           "of 6 seeds against 0, at a cost in MS-SSIM: docs/SMALL_SETS.md).";
  return spectral ? "" : " Ask G for the real spectrum: --g-spectral 3 (docs/SMALL_SETS.md).";
}

// High-frequency energy generated / real: the genre furthest from 1 on a log scale.
void speckle(const json& r, bool ema, bool resize, bool spectral, json& out) {
  if (!r.contains("speckle") || !r["speckle"].contains("per_genre")) return;
  double far = 1, corners = NAN;
  std::string genre;
  for (const json& g : r["speckle"]["per_genre"]) {
    const double x = json_number(g, {"laplacian_ratio"});
    if (std::isfinite(x) && x > 0 && std::fabs(std::log(x)) > std::fabs(std::log(far)))
      far = x, genre = g.value("genre", ""), corners = json_number(g, {"corner_ratio"});
  }
  const bool met = far >= kAdviceLaplacianLow && far <= kAdviceLaplacianHigh;
  const std::string advice =
      far > 1 ? speckle_noisy(genre, far, corners, ema, resize)
              : "generated " + genre + " covers are smoother than real ones (" + fmt("%.2f", far) +
                    " of their high-frequency energy): detail is missing, often a sign of blur." +
                    (std::isfinite(corners) && corners >= kAdviceCornerHigh
                         ? " Yet their spectrum's corners hold " + fmt("%.2f", corners) +
                               " times the real power: a checkerboard over the missing detail (keeping G's last "
                               "layer a resize-convolution removed it on the demo covers and left them smoother "
                               "still: docs/SMALL_SETS.md)."
                         : "") +
                    speckle_smooth(ema, spectral);
  out.push_back(item("high-frequency energy generated / real, genre furthest from 1", far,
                     fmt("%g", kAdviceLaplacianLow) + " to " + fmt("%g", kAdviceLaplacianHigh), met, advice));
}

}  // namespace

json recipe_advice(const json& r) {
  json out = json::array();
  const double w = json_number(r, {"checkpoint", "recipe", "g_genre_weight"});
  const double g_weight = std::isnan(w) ? 1.0 : w;  // reports from before the key: the paper's
  const json ck = r.value("checkpoint", json::object());
  const bool ema = ck.value("generator", "") == "G_ema";  // what this report sampled from
  const bool hflip = ck.value("recipe", json::object()).value("hflip", false);
  const bool icnr = ck.value("recipe", json::object()).value("g_init", "normal") == "icnr";
  const bool resize = ck.value("recipe", json::object()).value("g_deconv", "free") == "resize";
  const bool spectral = ck.value("recipe", json::object()).value("g_spectral", 0.0) > 0;
  const double bc = json_number(r, {"checkpoint", "base_channels"});  // NaN (not < 64) when absent
  genre_gap(r, g_weight, bc, out);
  msssim_excess(r, ema, hflip, icnr, out);
  speckle(r, ema, resize, spectral, out);
  out.push_back(item("sampled from G's weight average (--ema)", ema ? 1 : 0, "yes", ema,
                     "train with --ema 0.999 and sample from the average: the Frechet distance fell by 37 % (demo) and "
                     "25 % (emoji) with the same training."));
  return out;
}

}  // namespace cg::gan
