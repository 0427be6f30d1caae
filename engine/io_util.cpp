// File-system guards and the injected write failure (see io_util.h).
#include "engine/io_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "base/check.h"

namespace cg {

void require_regular_file(const std::string& path, const std::string& lead) {
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0) throw Error(detail::cat(lead, " ", path, ": ", std::strerror(errno), "."));
  if (S_ISDIR(sb.st_mode)) throw Error(detail::cat(lead, " ", path, ": it is a directory, not a file."));
  if (!S_ISREG(sb.st_mode))
    throw Error(detail::cat(lead, " ", path, ": it is not a regular file (a FIFO, socket or device); give a file."));
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    int extra;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      extra = 1, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + size_t(extra) >= s.size()) return false;  // the sequence runs past the end
    for (int k = 1; k <= extra; ++k) {
      const unsigned char d = static_cast<unsigned char>(s[i + size_t(k)]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((extra == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
      return false;
    i += size_t(extra) + 1;
  }
  return true;
}

std::string temp_path(const std::string& path) {
  static std::atomic<unsigned long> n{0};
  return detail::cat(path, ".tmp-", ::getpid(), "-", n++);
}

bool is_temp_name(const std::string& name, const std::string& of) {
  const std::string pre = of + ".tmp";
  return name == pre || (name.size() > pre.size() + 1 && name.compare(0, pre.size() + 1, pre + "-") == 0);
}

void check_writable(const std::string& path, const std::string& what) {
  struct stat sb {};
  if (::stat(path.c_str(), &sb) == 0 && S_ISDIR(sb.st_mode))
    throw Error(detail::cat("Cannot write ", what, " ", path, ": it is a folder."));
  const std::string probe = temp_path(path);
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int err = errno;
    throw Error(detail::cat("Cannot write ", what, " ", path, ": ", std::strerror(err), "."));
  }
  ::close(fd);
  ::unlink(probe.c_str());
}

void write_file_atomic(const std::string& path, const std::string& contents, const std::string& what) {
  const std::string tmp = temp_path(path);
  auto fail = [&](const char* step, int err) {
    ::unlink(tmp.c_str());
    throw Error(detail::cat("Cannot write ", what, " ", path, ": ", step, " ", tmp, " failed (", std::strerror(err),
                            ")."));
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int err = errno;
    throw Error(detail::cat("Cannot write ", what, " ", path, ": creating ", tmp, " failed (", std::strerror(err), ")."));
  }
  size_t done = 0;
  while (done < contents.size()) {
    if (injected_write_failure(tmp, contents.size() - done)) {
      ::close(fd);
      fail("writing", ENOSPC);
    }
    const ssize_t r = ::write(fd, contents.data() + done, contents.size() - done);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      const int err = r < 0 ? errno : EIO;
      ::close(fd);
      fail("writing", err);
    }
    done += size_t(r);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    fail("flushing", err);
  }
  if (::close(fd) != 0) fail("closing", errno);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("renaming", errno);
}

bool injected_write_failure(const std::string& path, size_t bytes_about_to_write) {
  static const char* pattern = std::getenv("COVERGAN_FAIL_WRITES");
  if (!pattern || !*pattern || path.find(pattern) == std::string::npos) return false;
  static const unsigned long long budget = [] {
    const char* a = std::getenv("COVERGAN_FAIL_WRITES_AFTER");
    return a ? std::strtoull(a, nullptr, 10) : 0ull;
  }();
  static std::atomic<unsigned long long> used{0};
  const unsigned long long before = used.fetch_add(bytes_about_to_write);
  return before + bytes_about_to_write > budget;
}

void injected_write_delay() {
  static const long ms = [] {
    const char* v = std::getenv("COVERGAN_WRITE_DELAY_MS");
    return v ? std::strtol(v, nullptr, 10) : 0L;
  }();
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

}  // namespace cg
