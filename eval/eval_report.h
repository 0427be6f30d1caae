// The evaluation report: report.json (every number) and report.html, written from
// that JSON alone, so the page shows nothing report.json lacks. Self-contained:
// pictures are files beside it, opened with no server running.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cg::gan {

// Writes dir/report.json and dir/report.html (temporary names, then rename).
void write_report(const std::string& dir, const nlohmann::json& report);
// The page for a report (what write_report writes as report.html).
std::string report_html(const nlohmann::json& report);
// Every picture the page links, relative to the report folder.
std::vector<std::string> report_images(const nlohmann::json& report);

}  // namespace cg::gan
