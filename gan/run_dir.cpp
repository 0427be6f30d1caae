// Run folder management and the metrics log (see run_dir.h).
#include "gan/run_dir.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/io_util.h"

namespace cg::gan {
namespace fs = std::filesystem;
namespace {

constexpr size_t kColumns = 20;  // MetricsLog::header()

// "step_00001234.safetensors" -> 1234; -1 for anything else.
int64_t step_of(const std::string& name) {
  const std::string pre = "step_", suf = ".safetensors";
  if (name.size() <= pre.size() + suf.size() || name.rfind(pre, 0) != 0 ||
      name.compare(name.size() - suf.size(), suf.size(), suf) != 0)
    return -1;
  const std::string digits = name.substr(pre.size(), name.size() - pre.size() - suf.size());
  if (digits.empty() || digits.size() > 15 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return -1;
  return std::stoll(digits);
}

bool is_run_file(const fs::path& p) {
  const std::string n = p.filename().string();
  return n == "config.json" || n == "metrics.csv" || n == "loss.png" || n == "holdout.json";
}

// A temporary file a killed run left (NAME.tmp or NAME.tmp-PID-N of one of the run's files).
bool is_leftover(const std::string& name) {
  const size_t at = name.rfind(".tmp");
  if (at == std::string::npos || at == 0) return false;
  const std::string base = name.substr(0, at);
  if (!is_temp_name(name, base)) return false;
  const bool sample = base.rfind("step_", 0) == 0 && fs::path(base).extension() == ".png";
  return is_run_file(base) || step_of(base) >= 0 || base == "pretrained.safetensors" || sample;
}

}  // namespace

bool RunDir::holds_run() const {
  std::error_code ec;
  for (const char* f : {"config.json", "metrics.csv"})
    if (fs::exists(path(f), ec)) return true;
  return !checkpoints().empty();
}

void RunDir::check_fresh(bool force) const {
  CG_USER_CHECK(force || !holds_run(), "The folder ", root_,
                " already holds a training run; pass --resume to continue it, --force to replace it, or choose "
                "another --out.");
}

void RunDir::prepare_fresh(bool force) const {
  std::error_code ec;
  check_fresh(force);
  if (holds_run()) {
    // Only this program's own files go: the user's other files in the folder stay.
    for (const auto& e : fs::directory_iterator(root_, ec))
      if (e.is_regular_file() && is_run_file(e.path())) fs::remove(e.path(), ec);
    for (const auto& [step, p] : checkpoints()) fs::remove(p, ec);
    fs::remove(path("checkpoints/pretrained.safetensors"), ec);
    if (fs::is_directory(path("samples"), ec))
      for (const auto& e : fs::directory_iterator(path("samples"), ec)) {
        const std::string n = e.path().filename().string();
        if (n.rfind("step_", 0) == 0 && e.path().extension() == ".png") fs::remove(e.path(), ec);
      }
  }
  for (const char* d : {"", "/checkpoints", "/samples"}) {
    fs::create_directories(root_ + d, ec);
    CG_USER_CHECK(fs::is_directory(root_ + d), "Cannot create the folder ", root_ + d, ": ", ec.message(), ".");
  }
}

void RunDir::prepare_resume() const {
  std::error_code ec;
  for (const char* d : {"", "/checkpoints", "/samples"})
    for (const auto& e : fs::directory_iterator(root_ + d, ec))
      if (is_leftover(e.path().filename().string()) && e.is_regular_file(ec)) fs::remove(e.path(), ec);
  for (const char* d : {"/checkpoints", "/samples"}) {
    fs::create_directories(root_ + d, ec);
    CG_USER_CHECK(fs::is_directory(root_ + d), "Cannot create the folder ", root_ + d, ": ", ec.message(), ".");
  }
}

std::vector<std::pair<int64_t, std::string>> RunDir::checkpoints() const {
  std::vector<std::pair<int64_t, std::string>> out;
  std::error_code ec;
  if (!fs::is_directory(path("checkpoints"), ec)) return out;
  for (const auto& e : fs::directory_iterator(path("checkpoints"), ec)) {
    const int64_t s = step_of(e.path().filename().string());
    if (s >= 0 && e.is_regular_file()) out.emplace_back(s, e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string RunDir::latest_checkpoint() const {
  const auto cks = checkpoints();
  return cks.empty() ? std::string() : cks.back().second;
}

std::string resolve_checkpoint(const std::string& p, std::string* run_dir) {
  CG_USER_CHECK(!p.empty(), "No checkpoint given: pass a checkpoint file or a run folder.");
  if (fs::is_directory(p)) {
    const std::string latest = RunDir(p).latest_checkpoint();
    CG_USER_CHECK(!latest.empty(), "The folder ", p, " holds no checkpoints (checkpoints/step_*.safetensors).");
    if (run_dir) *run_dir = p;
    return latest;
  }
  CG_USER_CHECK(fs::exists(p), "The checkpoint ", p, " does not exist.");
  // RUN/checkpoints/step_N.safetensors, however the path is spelled: "checkpoints/step_N..."
  // from inside RUN once had no parent of its parent, and the run was not found.
  std::error_code ec;
  const fs::path dir = fs::absolute(p, ec).lexically_normal().parent_path();
  const bool in_run = !ec && dir.filename() == "checkpoints" && fs::exists(dir.parent_path() / "metrics.csv", ec);
  if (run_dir) *run_dir = in_run ? dir.parent_path().string() : std::string();
  return p;
}

std::string RunDir::checkpoint_path(int64_t step) const {
  char buf[48];
  std::snprintf(buf, sizeof buf, "checkpoints/step_%08lld.safetensors", static_cast<long long>(step));
  return path(buf);
}

std::string RunDir::sample_path(int64_t step) const {
  char buf[40];
  std::snprintf(buf, sizeof buf, "samples/step_%06lld.png", static_cast<long long>(step));
  return path(buf);
}

void RunDir::rotate_checkpoints(int keep) const {
  auto cks = checkpoints();
  std::error_code ec;
  for (size_t i = 0; i + size_t(keep) < cks.size(); ++i) fs::remove(cks[i].second, ec);
}

const char* MetricsLog::header() {
  return "step,phase,epoch,d_loss,d_src_real,d_src_fake,d_cls_real,d_cls_fake,d_code,g_loss,g_src,g_cls,g_code,"
         "d_x,d_g_z,acc_real,acc_fake,images_per_s,time_s,g_spectral";
}

MetricsLog::MetricsLog(const std::string& path, int64_t resume_step) : path_(path) {
  std::vector<std::string> keep;
  if (resume_step >= 0) {
    std::ifstream in(path);
    std::string line;
    bool first = true;
    while (std::getline(in, line)) {
      if (first) {
        first = false;
        continue;  // the header is rewritten below
      }
      if (in.eof()) break;  // no newline: a row cut short by a kill
      std::istringstream row(line);
      std::string cell;
      std::vector<std::string> cells;
      while (std::getline(row, cell, ',')) cells.push_back(cell);
      if (cells.size() == kColumns - 1) {  // a row of a build before g_spectral, which was 0 there
        line += ",0";
        cells.push_back("0");
      }
      if (cells.size() != kColumns) break;  // a torn row: it and everything after it are redone
      int64_t step = -1;
      try {
        step = std::stoll(cells[0]);
      } catch (const std::exception&) {
        break;
      }
      if (step > resume_step) break;  // rows from after the checkpoint: that work is redone
      keep.push_back(line);
      steps.push_back(double(step));
      d_loss.push_back(std::strtod(cells[3].c_str(), nullptr));
      g_loss.push_back(std::strtod(cells[9].c_str(), nullptr));
    }
  }
  const std::string tmp = temp_path(path);
  f_ = std::fopen(tmp.c_str(), "w");
  CG_USER_CHECK(f_ != nullptr, "Cannot write ", tmp, ": ", std::strerror(errno), ".");
  std::fprintf(f_, "%s\n", header());
  for (const auto& l : keep) std::fprintf(f_, "%s\n", l.c_str());
  std::error_code ec;
  if (std::fflush(f_) != 0) ec = std::error_code(errno, std::generic_category());
  if (!ec) fs::rename(tmp, path, ec);
  if (ec) {  // the rows so far are of no use under the temporary name
    std::fclose(f_);
    f_ = nullptr;
    std::error_code rm;
    fs::remove(tmp, rm);
    throw Error(detail::cat("Cannot write ", path, ": ", ec.message(), "."));
  }
}

MetricsLog::~MetricsLog() {
  if (f_) std::fclose(f_);
}

void MetricsLog::append(int64_t step, const std::string& phase, int64_t epoch, const StepStats& s,
                        double images_per_s, double time_s) {
  std::fprintf(f_, "%lld,%s,%lld,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.6f,%.6f,%.4f,%.4f,%.1f,%.2f,%.9g\n",
               static_cast<long long>(step), phase.c_str(), static_cast<long long>(epoch), s.d_total, s.d_src_real,
               s.d_src_fake, s.d_cls_real, s.d_cls_fake, s.d_code, s.g_total, s.g_src, s.g_cls, s.g_code, s.d_real,
               s.d_fake, s.acc_real, s.acc_fake, images_per_s, time_s, s.g_spectral);
  steps.push_back(double(step));
  d_loss.push_back(s.d_total);
  g_loss.push_back(s.g_total);
}

void MetricsLog::flush() { std::fflush(f_); }

void MetricsLog::commit() {
  CG_USER_CHECK(std::fflush(f_) == 0 && ::fsync(::fileno(f_)) == 0, "Cannot write ", path_, ": ",
                std::strerror(errno), ".");
}

}  // namespace cg::gan
