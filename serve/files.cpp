// Safe reads from a run folder (see files.h).
#include "serve/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "serve/params.h"

namespace cg::serve {
namespace {

// Closes a descriptor when the read leaves, however it leaves.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

}  // namespace

void check_relative_path(const std::string& rel) {
  if (rel.empty()) throw HttpError(400, "Name a file inside the run folder.");
  if (rel.size() > 512) throw HttpError(400, "The file path is longer than 512 characters.");
  if (rel[0] == '/') throw HttpError(400, "The file path must be relative to the run folder, not absolute.");
  size_t start = 0;
  while (start <= rel.size()) {
    const size_t end = std::min(rel.find('/', start), rel.size());
    const std::string seg = rel.substr(start, end - start);
    if (seg.empty()) throw HttpError(400, "The file path has an empty part (a doubled or trailing '/').");
    if (seg == "." || seg == "..") throw HttpError(400, "The file path may not contain '.' or '..' parts.");
    if (seg[0] == '.') throw HttpError(400, "Hidden files (names starting with '.') are not served.");
    for (char c : seg)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
        throw HttpError(400, "The file path may hold only letters, digits, '.', '_', '-' and '/'.");
    start = end + 1;
  }
}

std::string content_type_for(const std::string& name) {
  struct Kind {
    const char* ext;
    const char* type;
  };
  static const Kind kinds[] = {
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".svg", "image/svg+xml"},
      {".html", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".csv", "text/csv; charset=utf-8"},
      {".json", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
      {".dot", "text/plain; charset=utf-8"},
      {".md", "text/plain; charset=utf-8"},
      {".log", "text/plain; charset=utf-8"},
      {".pdf", "application/pdf"},
  };
  for (const auto& k : kinds)
    if (ends_with(name, k.ext)) return k.type;
  return "";
}

std::string real_path(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) ? std::string(buf) : std::string();
}

FileBytes read_run_file(const std::string& root, const std::string& rel, size_t max_bytes) {
  check_relative_path(rel);
  // O_NONBLOCK: a FIFO planted in the folder must not hang the request at open.
  Fd f{::open((root + "/" + rel).c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)};
  if (f.fd < 0) throw HttpError(404, "The run folder has no file " + rel + ".");
  struct stat st {};
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode))
    throw HttpError(404, "The run folder has no file " + rel + " (not a regular file).");
  char where[PATH_MAX];
  const std::string link = "/proc/self/fd/" + std::to_string(f.fd);
  const ssize_t n = ::readlink(link.c_str(), where, sizeof where - 1);
  if (n <= 0) throw HttpError(403, "Cannot tell where " + rel + " lies, so it is not served.");
  const std::string actual(where, size_t(n));
  if (actual.size() <= root.size() || actual.compare(0, root.size(), root) != 0 || actual[root.size()] != '/')
    throw HttpError(403, "The file " + rel + " leads outside the run folder (a symlink), so it is not served.");
  if (size_t(st.st_size) > max_bytes)
    throw HttpError(413, "The file " + rel + " is larger than " + std::to_string(max_bytes >> 20) +
                             " MiB, the most this server hands out.");
  FileBytes out;
  out.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  out.bytes.resize(size_t(st.st_size));
  size_t got = 0;
  while (got < out.bytes.size()) {
    const ssize_t r = ::read(f.fd, out.bytes.data() + got, out.bytes.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;  // the file shrank while being read: hand out what was there
    got += size_t(r);
  }
  out.bytes.resize(got);
  return out;
}

}  // namespace cg::serve
