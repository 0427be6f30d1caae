// The parts of report.html that issue 26 added, each from report.json alone: the
// MS-SSIM at fewer scales beside the paper's, the Fréchet distance and precision/recall
// in the baseline's features, and the high-frequency energy (speckle) with its plots.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cg::gan {

std::string msssim_alt_html(const nlohmann::json& report);
std::string frechet_html(const nlohmann::json& report);
std::string speckle_html(const nlohmann::json& report);
// "What to try next": report["advice"] (eval/eval_advice.h) as a table; "" without it.
std::string advice_html(const nlohmann::json& report);
// The pictures those sections link (relative to the report folder).
std::vector<std::string> extra_report_images(const nlohmann::json& report);

}  // namespace cg::gan
