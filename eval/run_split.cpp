// The trained-on / held-out split of an evaluation set (see run_split.h).
#include "eval/run_split.h"

#include <filesystem>
#include <optional>
#include <unordered_set>

#include "base/check.h"
#include "data/holdout.h"
#include "gan/holdout_file.h"

namespace cg::gan {

std::vector<int64_t> RealSplit::indices(int8_t which) const {
  std::vector<int64_t> out;
  for (size_t i = 0; i < seen.size(); ++i)
    if (seen[i] == which) out.push_back(int64_t(i));
  return out;
}

namespace {

// The run's training file if it is still the file the run trained on; otherwise nothing,
// with status "unavailable" or "changed" and the reason. Reading a re-prepared file as the
// old one once read past its end (SIGBUS) or split the covers wrongly without a word.
std::optional<data::Dataset> training_file(const TrainConfig& run, const data::Dataset& ds, RealSplit& s) {
  const std::string& path = run.data;
  std::error_code ec;
  if (path.empty()) {
    s.reason = "the checkpoint names no training file";
    return std::nullopt;
  }
  s.status = "unavailable";
  if (!std::filesystem::exists(path, ec)) {
    s.reason = "the run's training file " + path + " no longer exists";
    return std::nullopt;
  }
  std::optional<data::Dataset> tr;
  try {
    tr = data::Dataset::open(path, false);
  } catch (const Error& e) {
    s.reason = "the run's training file cannot be read: " + std::string(e.what());
    return std::nullopt;
  }
  s.status = "changed";
  if (run.data_bytes > 0 && (tr->file_bytes() != run.data_bytes || tr->fingerprint() != run.data_fingerprint)) {
    s.reason = "the run's training file " + path + " has changed since the run (it was " +
               std::to_string(run.data_bytes) + " bytes, fingerprint " + run.data_fingerprint + "; now " +
               std::to_string(tr->file_bytes()) + " bytes, fingerprint " + tr->fingerprint() + ")";
    return std::nullopt;
  }
  if (tr->info().size != ds.info().size || tr->info().channels != ds.info().channels || !tr->info().labeled()) {
    s.reason = "the run's training file " + path + " now holds " + std::to_string(tr->info().size) + "x" +
               std::to_string(tr->info().size) + " covers" + (tr->info().labeled() ? "" : " without genres") +
               ", not the evaluation set's " + std::to_string(ds.info().size) + "x" + std::to_string(ds.info().size);
    return std::nullopt;
  }
  return tr;
}

}  // namespace

RealSplit split_eval_set(const data::Dataset& ds, const TrainConfig& run, const std::string& run_dir) {
  RealSplit s;
  const int64_t n = ds.info().count;
  const size_t bytes = size_t(ds.info().size) * size_t(ds.info().size) * size_t(ds.info().channels);
  s.seen.assign(size_t(n), -1);
  if (const auto tr = training_file(run, ds, s)) {
    std::unordered_set<uint64_t> trained;
    const data::HoldoutSplit split = data::holdout_split(*tr, run.holdout, run.holdout_seed);
    for (int64_t i : split.train) trained.insert(data::pixel_hash(tr->pixels(i), bytes));
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
