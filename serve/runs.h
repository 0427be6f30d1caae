// The run folders one server shows. Each gets a short id for its addresses (its
// folder's name, made unique and URL-safe), its metrics.csv reader, and a summary
// of what the folder holds: config, checkpoints, sample grids, and the optional
// extras other commands write (the eval report, a per-layer profile, a tape graph).
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "serve/metrics_tail.h"

namespace cg::serve {

struct Run {
  std::string id;    // [A-Za-z0-9._-], unique among the server's runs
  std::string path;  // as given on the command line
  std::string real;  // its realpath: every file served must lie under it
  MetricsTail metrics;
  Run(std::string id, std::string path, std::string real)
      : id(std::move(id)), path(std::move(path)), real(std::move(real)), metrics(this->real + "/metrics.csv") {}
};

class RunSet {
 public:
  // Throws cg::Error (one sentence) for a folder that does not exist, is not a
  // folder, or is given twice.
  explicit RunSet(const std::vector<std::string>& folders);
  Run* find(const std::string& id) const;  // nullptr when unknown
  const std::vector<std::unique_ptr<Run>>& all() const { return runs_; }

 private:
  std::vector<std::unique_ptr<Run>> runs_;
};

// (step, file name relative to the run) of each checkpoint, ascending by step.
std::vector<std::pair<int64_t, std::string>> run_checkpoints(const Run& r);
// The newest checkpoint's relative name, or "" when there is none.
std::string newest_checkpoint(const Run& r);

// One line of the index: id, folder, state, steps, the newest row.
nlohmann::json run_brief(Run& r);
// Everything the run page shows beside the curves and the playground.
nlohmann::json run_summary(Run& r);

}  // namespace cg::serve
