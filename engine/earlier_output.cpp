// The earlier contents of an output folder, set aside and then kept or restored (see
// earlier_output.h). Renames within one folder: no copy, nothing half-moved on a full disk.
#include "engine/earlier_output.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "base/check.h"
#include "engine/folder_lock.h"

namespace fs = std::filesystem;

namespace cg {

namespace {

bool is_ours(const fs::path& p, const std::string& aside) {
  const std::string n = p.filename().string();
  return n == FolderLock::file_name() || p.string() == aside;
}

// The entries of folder but the lock and the aside folder, listed before any is moved.
std::vector<fs::path> entries(const std::string& folder, const std::string& aside) {
  std::vector<fs::path> v;
  for (const auto& e : fs::directory_iterator(folder))
    if (!is_ours(e.path(), aside)) v.push_back(e.path());
  return v;
}

void move(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  CG_USER_CHECK(!ec, "Cannot move ", from.string(), " to ", to.string(), ": ", ec.message(), ".");
}

}  // namespace

EarlierOutput::EarlierOutput(const std::string& folder, const std::vector<std::string>& names) : folder_(folder) {
  const std::string aside = (fs::path(folder) / (".earlier-" + std::to_string(::getpid()))).string();
  std::vector<fs::path> earlier;
  for (const auto& p : entries(folder, aside)) {
    if (std::find(names.begin(), names.end(), p.filename().string()) != names.end())
      earlier.push_back(p);
    else
      kept_.insert(p.filename().string());
  }
  if (earlier.empty()) return;
  fs::create_directory(aside);
  aside_ = aside;
  for (const auto& p : earlier) move(p, fs::path(aside_) / p.filename());
}

EarlierOutput::~EarlierOutput() {
  if (!done_) try {
      restore();
    } catch (...) {  // the earlier entries stay in aside(), whole
    }
}

void EarlierOutput::keep_new() {
  done_ = true;
  if (aside_.empty()) return;
  for (const auto& p : entries(aside_, "")) {
    const fs::path here = fs::path(folder_) / p.filename();
    std::error_code ec;
    if (fs::exists(fs::symlink_status(here, ec)))
      fs::remove_all(p, ec);  // replaced by the new output
    else
      move(p, here);
  }
  std::error_code ec;
  fs::remove(aside_, ec);
}

void EarlierOutput::restore() {
  done_ = true;
  std::error_code ec;
  for (const auto& p : entries(folder_, aside_))
    if (!kept_.count(p.filename().string())) fs::remove_all(p, ec);
  if (aside_.empty()) return;
  for (const auto& p : entries(aside_, "")) move(p, fs::path(folder_) / p.filename());
  fs::remove(aside_, ec);
}

}  // namespace cg
