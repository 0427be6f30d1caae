// recipe_advice on made-up reports: each signal against its goal, the flag it names for
// the run's own recipe, the genre it names, and signals a report lacks left out.
#include <doctest/doctest.h>

#include <string>

#include "eval/eval_advice.h"

using nlohmann::json;
using cg::gan::recipe_advice;

namespace {

// A report with the baseline's accuracies (fractions), MS-SSIM means per genre and
// Laplacian ratios per genre, sampled from G_ema or G.
json report(double gen, double unseen, double g_weight, bool ema) {
  json r;
  r["checkpoint"] = {{"generator", ema ? "G_ema" : "G"}, {"ema", ema ? 0.999 : 0.0},
                     {"recipe", {{"g_genre_weight", g_weight}, {"hflip", true}}}};
  r["baseline"]["generated"]["accuracy"]["mean"] = gen;
  r["baseline"]["real_unseen_by_run"]["accuracy"]["mean"] = unseen;
  r["baseline"]["real_held_out"]["accuracy"]["mean"] = 0.99;  // ignored while the run's held-out covers are there
  r["msssim"]["per_genre"] = json::array(
      {{{"genre", "jazz"}, {"generated_generated", {{"mean", 0.9}}}, {"real_real", {{"mean", 0.1}}},
        {"alt", {{"generated_generated", {{"mean", 0.30}}}, {"real_real", {{"mean", 0.27}}}}}},
       {{"genre", "rap"}, {"generated_generated", {{"mean", 0.1}}}, {"real_real", {{"mean", 0.1}}},
        {"alt", {{"generated_generated", {{"mean", 0.40}}}, {"real_real", {{"mean", 0.32}}}}}}});
  r["speckle"]["per_genre"] = json::array({{{"genre", "jazz"}, {"laplacian_ratio", 0.7}},
                                           {{"genre", "rap"}, {"laplacian_ratio", 1.5}}});
  return r;
}

bool has(const json& item, const std::string& text) {
  return item["advice"].get<std::string>().find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("the genre gap: typical covers ask for a lower genre weight, faded genres for a higher one") {
  json a = recipe_advice(report(0.70, 0.55, 1.0, true));
  REQUIRE(a.size() == 4);
  CHECK(a[0]["value"].get<double>() == doctest::Approx(15.0));
  CHECK(a[0]["met"] == false);
  CHECK(has(a[0], "--g-genre-weight 0.5"));
  a = recipe_advice(report(0.70, 0.55, 0.5, true));
  CHECK(has(a[0], "already at 0.5"));
  CHECK(has(a[0], "5000 iterations"));  // the width unknown: no width advice
  json narrow = report(0.70, 0.55, 0.5, true), wide = narrow;
  narrow["checkpoint"]["base_channels"] = 32;
  wide["checkpoint"]["base_channels"] = 64;
  CHECK(has(recipe_advice(narrow)[0], "--base-channels 64"));
  CHECK_FALSE(has(recipe_advice(wide)[0], "--base-channels 64"));
  CHECK(has(recipe_advice(wide)[0], "5000 iterations"));
  a = recipe_advice(report(0.40, 0.60, 0.5, true));
  CHECK(a[0]["value"].get<double>() == doctest::Approx(-20.0));
  CHECK(has(a[0], "Raise --g-genre-weight"));
  a = recipe_advice(report(0.58, 0.55, 1.0, true));
  CHECK(a[0]["met"] == true);
  CHECK(a[0]["advice"] == "");
  // Without the run's held-out covers, the baseline's own held-out folds are the reference.
  json r = report(0.70, 0.55, 1.0, true);
  r["baseline"].erase("real_unseen_by_run");
  CHECK(recipe_advice(r)[0]["value"].get<double>() == doctest::Approx(-29.0));
  // Without a baseline there is no gap to report.
  r.erase("baseline");
  a = recipe_advice(r);
  REQUIRE(a.size() == 3);
  CHECK(a[0]["signal"].get<std::string>().find("MS-SSIM") != std::string::npos);
}

TEST_CASE("MS-SSIM uses the scales beside the paper's when eval computed them, and names the worst genre") {
  json a = recipe_advice(report(0.6, 0.6, 1.0, true));
  CHECK(a[1]["value"].get<double>() == doctest::Approx(0.08));  // rap at the alternative scales, not jazz's 0.8
  CHECK(a[1]["met"] == false);
  CHECK(has(a[1], "rap"));
  CHECK(has(a[1], "--g-init icnr"));  // the average and flips on: the initialisation next
  a = recipe_advice(report(0.6, 0.6, 1.0, false));
  CHECK(has(a[1], "--ema 0.999"));
  json tied = report(0.6, 0.6, 1.0, true);
  tied["checkpoint"]["recipe"]["g_init"] = "icnr";
  CHECK_FALSE(has(recipe_advice(tied)[1], "--g-init"));  // already on: not advised again
  json r = report(0.6, 0.6, 1.0, true);
  for (json& g : r["msssim"]["per_genre"]) g.erase("alt");
  CHECK(recipe_advice(r)[1]["value"].get<double>() == doctest::Approx(0.8));
}

TEST_CASE("speckle: the genre furthest from the real energy, too noisy or too smooth") {
  json r = report(0.6, 0.6, 1.0, false);
  json a = recipe_advice(r);
  CHECK(a[2]["value"].get<double>() == doctest::Approx(1.5));  // |ln 1.5| > |ln 0.7|
  CHECK(has(a[2], "rap"));
  CHECK(has(a[2], "--ema 0.999"));
  json averaged = r;  // sampled from the average: the resize-convolutions next, unless on
  averaged["checkpoint"]["generator"] = "G_ema";
  CHECK(has(recipe_advice(averaged)[2], "--g-deconv resize"));
  averaged["checkpoint"]["recipe"]["g_deconv"] = "resize";
  CHECK_FALSE(has(recipe_advice(averaged)[2], "--g-deconv resize"));
  CHECK(has(recipe_advice(averaged)[2], "already kept to resize-convolutions"));
  r["speckle"]["per_genre"][1]["laplacian_ratio"] = 1.1;
  a = recipe_advice(r);
  CHECK(a[2]["value"].get<double>() == doctest::Approx(0.7));
  CHECK(has(a[2], "smoother"));
  CHECK_FALSE(has(a[2], "corners"));  // a report from before the corners' ratio: not mentioned
  r["speckle"]["per_genre"][0]["laplacian_ratio"] = 0.85;
  CHECK(recipe_advice(r)[2]["met"] == true);
}

TEST_CASE("speckle: the spectrum's corners tell a checkerboard from an excess below S/2") {
  json r = report(0.6, 0.6, 1.0, true);  // rap the furthest genre, 1.5
  r["speckle"]["per_genre"][1]["corner_ratio"] = 2.5;
  json a = recipe_advice(r);
  CHECK(has(a[2], "2.50 times the real power in the spectrum's corners"));
  CHECK(has(a[2], "--g-deconv resize ("));  // a checkerboard: the resize-convolutions advised
  r["speckle"]["per_genre"][1]["corner_ratio"] = 1.1;
  a = recipe_advice(r);
  CHECK(has(a[2], "below S/2, not in a checkerboard"));
  CHECK_FALSE(has(a[2], "--g-deconv resize ("));
  // Too smooth overall, but a checkerboard in the corners: both said.
  r["speckle"]["per_genre"][1] = {{"genre", "rap"}, {"laplacian_ratio", 1.1}, {"corner_ratio", 1.0}};
  r["speckle"]["per_genre"][0]["corner_ratio"] = 2.2;
  a = recipe_advice(r);
  CHECK(a[2]["value"].get<double>() == doctest::Approx(0.7));
  CHECK(has(a[2], "smoother"));
  CHECK(has(a[2], "2.20 times the real power: a checkerboard over the missing detail"));
  r["speckle"]["per_genre"][0]["corner_ratio"] = 1.2;
  CHECK_FALSE(has(recipe_advice(r)[2], "checkerboard"));
}

TEST_CASE("speckle: smooth covers get the spectral term, and with it a short average after falling rates") {
  json r = report(0.6, 0.6, 1.0, true);
  r["speckle"]["per_genre"][1]["laplacian_ratio"] = 1.1;  // jazz at 0.7 the furthest: too smooth
  json a = recipe_advice(r);
  CHECK(has(a[2], "smoother"));
  CHECK(has(a[2], "--g-spectral 3 --lr-decay-from STEPS-500 --ema 0.99"));
  r["checkpoint"]["recipe"]["g_spectral"] = 3.0;  // already on: the average's blur is what is left
  a = recipe_advice(r);
  CHECK_FALSE(has(a[2], "--g-spectral 3"));
  CHECK(has(a[2], "--lr-decay-from STEPS-500 --ema 0.99"));
  CHECK(has(a[2], "eval --no-ema"));
  r["checkpoint"]["generator"] = "G";  // G itself, with the term: nothing more to name here
  CHECK_FALSE(has(recipe_advice(r)[2], "--g-spectral"));
  r["checkpoint"]["recipe"]["g_spectral"] = 0.0;
  CHECK(has(recipe_advice(r)[2], "Ask G for the real spectrum: --g-spectral 3"));
  // A checkerboard (noisy, corners high, from the average): resize-convolutions or the term.
  json n = report(0.6, 0.6, 1.0, true);
  n["speckle"]["per_genre"][1]["corner_ratio"] = 2.5;
  CHECK(has(recipe_advice(n)[2], "or ask G for the real spectrum, --g-spectral 3"));
}

TEST_CASE("the weight average is advised only when the report did not sample from it") {
  CHECK(recipe_advice(report(0.6, 0.6, 1.0, true))[3]["met"] == true);
  const json a = recipe_advice(report(0.6, 0.6, 1.0, false));
  CHECK(a[3]["met"] == false);
  CHECK(has(a[3], "--ema 0.999"));
}
