// The one scratch folder helper for every test binary: a fresh folder under the
// system temp dir, removed (permissions restored first) when the test ends.
// COVERGAN_KEEP_SCRATCH=1 keeps it, to look at what a test wrote.
#pragma once
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace cgtest {

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
