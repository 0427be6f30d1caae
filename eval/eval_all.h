// `covergan eval --ckpt RUN --all-checkpoints`: every checkpoint of a run evaluated with the
// same settings and seed (the same latent draws, so the curves show the model change, not
// the sampling), one baseline classifier for all, every number as a curve over training,
// and the best checkpoint by a chosen metric in report.json (scripts/pick-checkpoint and
// the demo read it from there).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/eval_run.h"

namespace cg::gan {

// The metrics a checkpoint can be chosen by.
std::vector<std::string> best_by_names();
std::string best_by_help();

// A checkpoint's summary numbers from its report.json (NaN where the report lacks one):
// fid, fid_real_real, precision, recall, msssim_excess (largest generated-generated minus
// real-real mean over the genres, at the alternative scales when the report has them),
// msssim_excess_paper (at 5 scales), baseline_generated, baseline_real, baseline_gap
// (generated minus real), d_generated, d_real, laplacian_ratio (generated / real, all covers),
// speckle (the largest |ln laplacian ratio| over the genres).
nlohmann::json checkpoint_summary(const nlohmann::json& report);
// The value to minimise for metric `by` (higher-is-better metrics negated; NaN: unusable).
double best_by_cost(const nlohmann::json& summary, const std::string& by);

// The checkpoint kept, given each one's cost in training order: the latest whose cost is
// at most the lowest plus within_percent of the lowest's magnitude (0: the lowest; ties go
// to the later one). Neighbouring checkpoints often differ by less than a metric's noise,
// and then the later, longer-trained one is the better bet (DEMO.md: step 2000 beat step
// 3000 by 0.5 % in Frechet distance while 3000 had the higher recall). NaN costs never
// win; all NaN: the last.
size_t choose_checkpoint(const std::vector<double>& costs, double within_percent);

// Evaluates every checkpoint of the run opt.ckpt into opt.out/step_N/, writes
// opt.out/report.json (summaries, curves, best) and report.html; returns the JSON.
nlohmann::json run_eval_all(EvalOptions opt, const std::string& best_by, double best_within_percent = 0);

}  // namespace cg::gan
