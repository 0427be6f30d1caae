// flock on FOLDER/.covergan.lock (see folder_lock.h). The file is unlinked on release,
// so after taking the lock we check that the path still names the file we locked: a
// process that opened the old file just before the unlink must not think it holds it.
#include "engine/folder_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "base/check.h"

namespace cg {
namespace fs = std::filesystem;

namespace {
// "pid command" of the holder, from the lock file; "" when unreadable.
std::string holder_of(int fd) {
  char buf[256] = {0};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string s = n > 0 ? std::string(buf, size_t(n)) : std::string();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Test hook (see folder_lock.h): a holder that keeps the lock this long after taking it.
void injected_hold() {
  const char* v = std::getenv("COVERGAN_LOCK_HOLD_MS");
  const long ms = v ? std::strtol(v, nullptr, 10) : 0L;
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}
}  // namespace

FolderLock::FolderLock(const std::string& folder, const std::string& what) : folder_(folder) {
  std::error_code ec;
  // True only when this call made the folder: another process may make it at the same moment.
  created_ = fs::create_directories(folder, ec);
  CG_USER_CHECK(fs::is_directory(folder, ec), "Cannot create the folder ", folder, ": ",
                fs::exists(folder) ? std::string("a file of that name exists") : ec.message(), ".");
  path_ = (fs::path(folder) / file_name()).string();
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      const int err = errno;
      if (created_) fs::remove(folder, ec);
      throw Error(detail::cat("Cannot write into the folder ", folder, " (creating ", path_, ": ", std::strerror(err),
                              ")."));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const std::string who = holder_of(fd);
      ::close(fd);
      throw Error(detail::cat("The folder ", folder, " is in use by another covergan process",
                              who.empty() ? std::string() : " (pid " + who + ")",
                              "; wait for it to finish or choose another folder."));
    }
    struct stat by_fd {}, by_path {};
    if (::fstat(fd, &by_fd) == 0 && ::stat(path_.c_str(), &by_path) == 0 && by_fd.st_ino == by_path.st_ino &&
        by_fd.st_dev == by_path.st_dev) {
      fd_ = fd;
      const std::string me = detail::cat(::getpid(), ": `covergan ", what, "`\n");
      if (::ftruncate(fd, 0) == 0) {
        [[maybe_unused]] const ssize_t n = ::pwrite(fd, me.data(), me.size(), 0);
      }
      injected_hold();
      return;
    }
    ::close(fd);  // the holder unlinked the file we opened: try the new one
  }
  throw Error(detail::cat("Cannot lock the folder ", folder, ": its lock file keeps changing."));
}

FolderLock::~FolderLock() { release(); }

FolderLock::FolderLock(FolderLock&& o) noexcept
    : folder_(std::move(o.folder_)), path_(std::move(o.path_)), fd_(o.fd_), created_(o.created_) {
  o.fd_ = -1;
}

FolderLock& FolderLock::operator=(FolderLock&& o) noexcept {
  if (this != &o) {
    release();
    folder_ = std::move(o.folder_), path_ = std::move(o.path_), fd_ = o.fd_, created_ = o.created_;
    o.fd_ = -1;
  }
  return *this;
}

void FolderLock::release() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());  // still holding the lock: nobody can take the old file after this
  ::close(fd_);
  fd_ = -1;
}

void FolderLock::release_and_remove_if_empty() {
  release();
  std::error_code ec;
  if (created_ && fs::is_empty(folder_, ec)) fs::remove(folder_, ec);
}

}  // namespace cg
