// Run folders and their summaries (see runs.h).
#include "serve/runs.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <set>

#include "base/check.h"
#include "gan/config.h"
#include "gan/run_dir.h"
#include "serve/files.h"
#include "serve/params.h"

namespace cg::serve {
namespace fs = std::filesystem;
namespace {

// A URL-safe id from a folder name: other characters become '_'.
std::string id_from_name(const std::string& name) {
  std::string id;
  for (char c : name) id += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  if (id.empty() || id[0] == '.') id = "run" + id;
  return id.substr(0, 60);
}

double seconds_since(const fs::file_time_type& t) {
  return std::chrono::duration<double>(fs::file_time_type::clock::now() - t).count();
}

// "samples/step_000500.png" -> 500 for the files the trainer writes; -1 otherwise.
int64_t sample_step(const std::string& name) {
  if (name.rfind("step_", 0) != 0 || name.size() < 10 || name.compare(name.size() - 4, 4, ".png") != 0) return -1;
  int64_t step = -1;
  return parse_int64(name.substr(5, name.size() - 9), step) && step >= 0 ? step : -1;
}

nlohmann::json list_samples(const Run& r) {
  std::vector<std::pair<int64_t, std::string>> v;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(r.real + "/samples", ec)) {
    const std::string n = e.path().filename().string();
    const int64_t s = sample_step(n);
    if (s >= 0 && e.is_regular_file(ec)) v.emplace_back(s, "samples/" + n);
  }
  std::sort(v.begin(), v.end());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [s, p] : v) out.push_back({{"step", s}, {"file", p}});
  return out;
}

// The first of the candidate files (relative names) that exists, or null.
nlohmann::json first_existing(const Run& r, std::initializer_list<const char*> names) {
  std::error_code ec;
  for (const char* n : names)
    if (fs::is_regular_file(r.real + "/" + n, ec)) return n;
  return nullptr;
}

// Pictures `covergan generate` and scripts/demo leave at the top of the run folder.
nlohmann::json list_pictures(const Run& r) {
  std::vector<std::string> v;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(r.real, ec)) {
    const std::string n = e.path().filename().string();
    // loss.png: the curves above draw it live; tape.png: the tape section shows tape.svg.
    if (n.size() > 4 && n.compare(n.size() - 4, 4, ".png") == 0 && n != "loss.png" && n != "tape.png" && n[0] != '.' &&
        is_plain_name(n) && e.is_regular_file(ec))
      v.push_back(n);
  }
  std::sort(v.begin(), v.end());
  return v;
}

// The extras other commands may have written; null where the run has none.
nlohmann::json list_extras(const Run& r) {
  nlohmann::json x;
  x["report"] = first_existing(r, {"report/report.html"});
  x["report_json"] = first_existing(r, {"report/report.json"});
  x["profile"] = first_existing(r, {"profile.csv", "profile/profile.csv", "report/profile.csv"});
  x["tape_svg"] = first_existing(r, {"tape.svg", "tape/tape.svg", "tape_g.svg", "tape_d.svg"});
  x["tape_dot"] = first_existing(r, {"tape.dot", "tape/tape.dot", "tape_g.dot", "tape_d.dot"});
  x["tape_txt"] = first_existing(r, {"tape.txt", "tape/tape.txt"});
  return x;
}

}  // namespace

RunSet::RunSet(const std::vector<std::string>& folders) {
  CG_USER_CHECK(!folders.empty(), "Name at least one run folder (as written by covergan train --out).");
  std::set<std::string> ids, reals;
  for (const auto& f : folders) {
    std::error_code ec;
    CG_USER_CHECK(fs::exists(f, ec), "The run folder ", f, " does not exist.");
    CG_USER_CHECK(fs::is_directory(f, ec), f, " is not a folder; name a run folder (covergan train --out).");
    const std::string real = real_path(f);
    CG_USER_CHECK(!real.empty(), "Cannot resolve the folder ", f, ".");
    CG_USER_CHECK(reals.insert(real).second, "The run folder ", f, " is named twice.");
    std::string name = fs::path(real).filename().string();
    std::string id = id_from_name(name.empty() ? "root" : name);
    for (int k = 2; ids.count(id); ++k) id = id_from_name(name) + "-" + std::to_string(k);
    ids.insert(id);
    runs_.push_back(std::make_unique<Run>(id, f, real));
  }
}

Run* RunSet::find(const std::string& id) const {
  for (const auto& r : runs_)
    if (r->id == id) return r.get();
  return nullptr;
}

std::vector<std::pair<int64_t, std::string>> run_checkpoints(const Run& r) {
  std::vector<std::pair<int64_t, std::string>> out;
  for (const auto& [step, path] : gan::RunDir(r.real).checkpoints())
    out.emplace_back(step, "checkpoints/" + fs::path(path).filename().string());
  return out;
}

std::string newest_checkpoint(const Run& r) {
  const auto cks = run_checkpoints(r);
  return cks.empty() ? std::string() : cks.back().second;
}

nlohmann::json run_brief(Run& r) {
  nlohmann::json b;
  b["id"] = r.id;
  b["path"] = r.path;
  std::error_code ec;
  const auto mtime = fs::last_write_time(r.real + "/metrics.csv", ec);
  b["seconds_since_write"] = ec ? nlohmann::json() : nlohmann::json(seconds_since(mtime));
  b["rows"] = r.metrics.rows();
  b["last"] = r.metrics.last_row();
  b["n_checkpoints"] = run_checkpoints(r).size();
  return b;
}

nlohmann::json run_summary(Run& r) {
  nlohmann::json s = run_brief(r);
  std::error_code ec;
  s["config"] = nullptr;
  if (fs::is_regular_file(r.real + "/config.json", ec)) {
    try {
      s["config"] = gan::read_json_file(r.real + "/config.json");
    } catch (const std::exception& e) {
      s["config_error"] = e.what();  // being rewritten, or not ours: the page says so
    }
  }
  nlohmann::json cks = nlohmann::json::array();
  for (const auto& [step, rel] : run_checkpoints(r)) {
    const auto p = r.real + "/" + rel;
    const auto size = fs::file_size(p, ec);
    const auto t = fs::last_write_time(p, ec);
    cks.push_back({{"step", step},
                   {"file", rel},
                   {"bytes", ec ? 0 : size},
                   {"seconds_ago", ec ? nlohmann::json() : nlohmann::json(seconds_since(t))}});
  }
  s["checkpoints"] = std::move(cks);
  s["samples"] = list_samples(r);
  s["pictures"] = list_pictures(r);
  s["extras"] = list_extras(r);
  return s;
}

}  // namespace cg::serve
