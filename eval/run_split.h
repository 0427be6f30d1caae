// Which covers of an evaluation set a run trained on: the covers of its training file
// (config.data) minus the ones it held out (config.holdout, data/holdout.h), matched by
// pixel hash, so any file holding the same covers is split the same way. Without the
// training file the run's RUN/holdout.json still names the held-out covers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "gan/config.h"

namespace cg::gan {

struct RealSplit {
  // "compared": the training file was read; "recorded": only RUN/holdout.json (covers it
  // lists are unseen, the others unknown); "unknown": neither.
  std::string status = "unknown";
  // Why the training file could not be compared ("" when it was): gone, unreadable, or
  // changed since the run (its recorded size and fingerprint, or its cover size, differ);
  // status is then "unavailable" or "changed" unless RUN/holdout.json still gave "recorded".
  std::string reason;
  std::vector<int8_t> seen;  // per cover of the set: 1 trained on, 0 not, -1 unknown
  int64_t trained_on = 0, unseen = 0, unknown = 0;
  std::vector<int64_t> indices(int8_t which) const;  // the covers with seen == which
};

RealSplit split_eval_set(const data::Dataset& eval_set, const TrainConfig& run, const std::string& run_dir);

}  // namespace cg::gan
