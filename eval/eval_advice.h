// What to try next, read off a finished report: the signals issue 26 set goals on
// (typical covers, collapse, speckle, faded genres), each compared with its goal, and for
// each one missed the training flag that moved it in docs/SMALL_SETS.md's measurements.
// A pure function of report.json, so a recipe can be chosen per set from eval's numbers.
#pragma once
#include <nlohmann/json.hpp>

namespace cg::gan {

// Goals (docs/TRAINING.md, issue 26): the baseline's accuracy on generated covers within
// kAdviceGapPoints of its accuracy on real covers the run never saw; generated-generated
// MS-SSIM at most real-real + kAdviceMsssimExcess in every genre; high-frequency energy
// generated / real within [kAdviceLaplacianLow, kAdviceLaplacianHigh] in every genre.
inline constexpr double kAdviceGapPoints = 5.0;
inline constexpr double kAdviceMsssimExcess = 0.05;
inline constexpr double kAdviceLaplacianLow = 0.8, kAdviceLaplacianHigh = 1.2;
// Not a goal: the speckle advice reads a genre's power in the spectrum's corners (past S/2,
// generated / real) above this as a checkerboard, below it as an excess elsewhere.
inline constexpr double kAdviceCornerHigh = 1.5;

// An array of {"signal", "value", "goal", "met", "advice"} (advice "" when met), in a
// fixed order: genre gap, MS-SSIM, speckle, weight average. Signals the report lacks
// (no baseline, no held-out covers) are left out. report: eval's report.json; its
// checkpoint.recipe and checkpoint.ema say what the run already used.
nlohmann::json recipe_advice(const nlohmann::json& report);

}  // namespace cg::gan
