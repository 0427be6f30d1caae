// RUN/metrics.csv read as the training writes it. Each look parses only the bytes
// appended since the last one; a last line without its newline (a row being
// written) waits for the next look, and a row whose cells do not match the header
// is skipped. A file replaced under the same name (--resume cuts it back, --force
// starts over) is read afresh under a new version number, so a page redraws.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cg::serve {

class MetricsTail {
 public:
  explicit MetricsTail(std::string path) : path_(std::move(path)) {}

  // Brings the rows up to date, then returns the JSON text {version, total, from,
  // stride, skipped, header, columns: {name: [values]}} for the rows i >= from with
  // i % stride == 0; columns empty means all. Text columns (phase) hold strings, the
  // others numbers to 7 significant digits (null for a NaN or infinity).
  std::string slice(int64_t from, int64_t stride, const std::vector<std::string>& columns);
  // {name: value} of the newest complete row, or null when there is none.
  nlohmann::json last_row();
  int64_t rows();

 private:
  void refresh();  // under mu_
  void reset();
  void take_line(const char* begin, const char* end);

  std::mutex mu_;
  std::string path_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  uint64_t offset_ = 0;   // bytes consumed: the header and every complete line
  uint64_t version_ = 1;  // bumped whenever the file is read afresh
  int64_t skipped_ = 0;   // complete lines that did not parse
  std::vector<std::string> header_;
  std::vector<bool> is_text_;
  std::vector<std::vector<double>> num_;        // per column (empty for text columns)
  std::vector<std::vector<std::string>> text_;  // per column (empty for number columns)
  int64_t n_rows_ = 0;
};

}  // namespace cg::serve
