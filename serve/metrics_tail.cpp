// Incremental reading of metrics.csv (see metrics_tail.h).
#include "serve/metrics_tail.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>

namespace cg::serve {
namespace {

// One look reads at most this much; a longer backlog is taken over the next looks.
constexpr size_t kMaxReadPerLook = size_t(32) << 20;

std::vector<std::string> split_csv_line(const char* b, const char* e) {
  std::vector<std::string> cells;
  const char* s = b;
  for (const char* p = b;; ++p) {
    if (p == e || *p == ',') {
      cells.emplace_back(s, p);
      if (p == e) break;
      s = p + 1;
    }
  }
  return cells;
}

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

}  // namespace

void MetricsTail::reset() {
  offset_ = 0;
  ++version_;
  skipped_ = 0;
  header_.clear();
  is_text_.clear();
  num_.clear();
  text_.clear();
  n_rows_ = 0;
}

void MetricsTail::take_line(const char* b, const char* e) {
  if (e > b && e[-1] == '\r') --e;
  auto cells = split_csv_line(b, e);
  if (header_.empty()) {
    header_ = cells;
    for (const auto& h : header_) is_text_.push_back(h == "phase");
    num_.resize(header_.size());
    text_.resize(header_.size());
    return;
  }
  if (cells.size() != header_.size()) {
    ++skipped_;
    return;
  }
  std::vector<double> v(cells.size(), 0.0);
  for (size_t i = 0; i < cells.size(); ++i) {
    if (is_text_[i]) continue;
    char* end = nullptr;
    v[i] = std::strtod(cells[i].c_str(), &end);
    if (cells[i].empty() || end != cells[i].c_str() + cells[i].size()) {
      ++skipped_;
      return;
    }
  }
  for (size_t i = 0; i < cells.size(); ++i) {
    if (is_text_[i])
      text_[i].push_back(std::move(cells[i]));
    else
      num_[i].push_back(v[i]);
  }
  ++n_rows_;
}

void MetricsTail::refresh() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    if (offset_ != 0 || !header_.empty()) reset();  // the file went away: nothing to show
    return;
  }
  // Replaced (a new inode) or cut back: read it again from the start.
  if (st.st_ino != ino_ || st.st_dev != dev_ || uint64_t(st.st_size) < offset_) {
    if (offset_ != 0 || !header_.empty() || ino_ != 0) reset();
    ino_ = st.st_ino;
    dev_ = st.st_dev;
  }
  if (uint64_t(st.st_size) == offset_) return;
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return;
  struct stat fst {};
  if (::fstat(fd, &fst) != 0 || fst.st_ino != ino_ || !S_ISREG(fst.st_mode)) {  // swapped between stat and open
    ::close(fd);
    return;
  }
  const size_t want = size_t(std::min<uint64_t>(uint64_t(fst.st_size) - std::min<uint64_t>(offset_, fst.st_size),
                                                kMaxReadPerLook));
  std::string buf(want, '\0');
  size_t got = 0;
  while (got < want) {
    const ssize_t r = ::pread(fd, buf.data() + got, want - got, off_t(offset_ + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += size_t(r);
  }
  ::close(fd);
  // Only complete lines are taken; the torn tail waits for its newline.
  const char* b = buf.data();
  const char* end = b + got;
  const char* p = b;
  for (const char* q = b; q < end; ++q)
    if (*q == '\n') {
      take_line(p, q);
      p = q + 1;
    }
  offset_ += uint64_t(p - b);
}

std::string MetricsTail::slice(int64_t from, int64_t stride, const std::vector<std::string>& columns) {
  std::lock_guard<std::mutex> lock(mu_);
  refresh();
  // Written by hand: seven digits per number keep a long run's first answer small.
  std::string out = "{\"version\":" + std::to_string(version_) + ",\"total\":" + std::to_string(n_rows_) +
                    ",\"from\":" + std::to_string(from) + ",\"stride\":" + std::to_string(stride) +
                    ",\"skipped\":" + std::to_string(skipped_) +
                    ",\"header\":" + nlohmann::json(header_).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                    ",\"columns\":{";
  // The first row at or after from that the stride keeps.
  const int64_t first = (from + stride - 1) / stride * stride;
  bool first_col = true;
  char num[32];
  for (size_t c = 0; c < header_.size(); ++c) {
    if (!columns.empty() && std::find(columns.begin(), columns.end(), header_[c]) == columns.end()) continue;
    if (!first_col) out += ',';
    out += nlohmann::json(header_[c]).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += ":[";
    first_col = false;
    for (int64_t i = first; i < n_rows_; i += stride) {
      if (i != first) out += ',';
      if (is_text_[c]) {
        out += nlohmann::json(text_[c][size_t(i)]).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      } else {
        const double v = num_[c][size_t(i)];
        if (std::isfinite(v)) {
          std::snprintf(num, sizeof num, "%.7g", v);
          out += num;
        } else {
          out += "null";
        }
      }
    }
    out += ']';
  }
  return out + "}}";
}

nlohmann::json MetricsTail::last_row() {
  std::lock_guard<std::mutex> lock(mu_);
  refresh();
  if (n_rows_ == 0) return nullptr;
  nlohmann::json row = nlohmann::json::object();
  for (size_t c = 0; c < header_.size(); ++c)
    row[header_[c]] = is_text_[c] ? nlohmann::json(text_[c].back()) : number_or_null(num_[c].back());
  return row;
}

int64_t MetricsTail::rows() {
  std::lock_guard<std::mutex> lock(mu_);
  refresh();
  return n_rows_;
}

}  // namespace cg::serve
