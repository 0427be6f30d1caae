// The one scratch folder helper for every test binary: a fresh folder under the
// system temp dir, removed (permissions restored first) when the test ends.
// COVERGAN_KEEP_SCRATCH=1 keeps it, to look at what a test wrote.
#pragma once
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace cgtest {

// The temporary files of path left beside it: PATH.tmp and PATH.tmp-PID-N (every writer
// names its temporary file with engine/io_util.h's temp_path). Empty when none.
inline std::vector<std::string> temp_files_of(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  const std::string pre = p.filename().string() + ".tmp";
  std::vector<std::string> out;
  std::error_code ec;
  const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (n == pre || n.rfind(pre + "-", 0) == 0) out.push_back(e.path().string());
  }
  return out;
}

class TempDir {
 public:
  explicit TempDir(const std::string& tag = "test") {
    static std::atomic<int> n{0};
    path_ = std::filesystem::temp_directory_path() /
            ("covergan_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    if (std::getenv("COVERGAN_KEEP_SCRATCH")) return;
    std::error_code ec;  // a test may have made the folder read-only to provoke a write error
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  std::string file(const std::string& name) const { return *this / name; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace cgtest
