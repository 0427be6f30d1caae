// The trained-on / held-out split of an evaluation set (see run_split.h).
#include "eval/run_split.h"

#include <filesystem>
#include <unordered_set>

#include "data/holdout.h"
#include "gan/holdout_file.h"

namespace cg::gan {

std::vector<int64_t> RealSplit::indices(int8_t which) const {
  std::vector<int64_t> out;
  for (size_t i = 0; i < seen.size(); ++i)
    if (seen[i] == which) out.push_back(int64_t(i));
  return out;
}

RealSplit split_eval_set(const data::Dataset& ds, const TrainConfig& run, const std::string& run_dir) {
  RealSplit s;
  const int64_t n = ds.info().count;
  const size_t bytes = size_t(ds.info().size) * size_t(ds.info().size) * size_t(ds.info().channels);
  s.seen.assign(size_t(n), -1);
  std::error_code ec;
  if (!run.data.empty() && std::filesystem::exists(run.data, ec)) {
    const data::Dataset tr = data::Dataset::open(run.data, false);
    std::unordered_set<uint64_t> trained;
    if (tr.info().labeled() && tr.info().size == ds.info().size) {
      const data::HoldoutSplit split = data::holdout_split(tr, run.holdout, run.holdout_seed);
      for (int64_t i : split.train) trained.insert(data::pixel_hash(tr.pixels(i), bytes));
    }
    for (int64_t i = 0; i < n; ++i) s.seen[size_t(i)] = int8_t(trained.count(data::pixel_hash(ds.pixels(i), bytes)) > 0);
    s.status = "compared";
  } else if (!run_dir.empty()) {
    const std::vector<uint64_t> held = read_holdout_hashes(run_dir + "/holdout.json");
    if (!held.empty()) {
      const std::unordered_set<uint64_t> h(held.begin(), held.end());
      for (int64_t i = 0; i < n; ++i)
        if (h.count(data::pixel_hash(ds.pixels(i), bytes))) s.seen[size_t(i)] = 0;
      s.status = "recorded";
    }
  }
  for (int8_t v : s.seen) (v == 1 ? s.trained_on : v == 0 ? s.unseen : s.unknown) += 1;
  return s;
}

}  // namespace cg::gan
