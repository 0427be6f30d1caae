// Small statistics the evaluation reports: stratified k-fold splits, confusion
// matrices and accuracies, mean +- standard deviation. Pure functions on host
// vectors, so tests can plant predictions and check every number.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cg::gan {

// k disjoint test folds covering 0..labels.size()-1. Each genre's items are shuffled
// (seeded) and dealt round-robin, continuing where the previous genre stopped, so
// every fold holds floor or ceil of n_g/k items of genre g and fold sizes differ by
// at most one. Throws when k < 2 or k exceeds the number of items.
std::vector<std::vector<int64_t>> stratified_folds(const std::vector<int32_t>& labels, int k, uint64_t seed);
// The complement of fold f: the training items of that fold, ascending.
std::vector<int64_t> fold_complement(const std::vector<std::vector<int64_t>>& folds, int f);

// Rows: true genre, columns: predicted genre.
struct Confusion {
  int K = 0;
  std::vector<int64_t> m;  // (K,K) row-major
  explicit Confusion(int k = 0) : K(k), m(size_t(k) * size_t(k), 0) {}
  void add(int32_t truth, int32_t pred);
  void add(const Confusion& o);
  int64_t at(int t, int p) const { return m[size_t(t) * size_t(K) + size_t(p)]; }
  int64_t total() const;
  double accuracy() const;              // trace / total (0 when empty)
  double recall(int genre) const;       // the genre's row: correct / its items
  nlohmann::json to_json(const std::vector<std::string>& genres) const;
};
Confusion confusion_of(const std::vector<int32_t>& truth, const std::vector<int32_t>& pred, int K);

// Mean and sample standard deviation (n-1; 0 for a single value) of xs.
struct MeanStd {
  double mean = 0, std = 0;
  int64_t n = 0;
};
MeanStd mean_std(const std::vector<double>& xs);

// Box-plot numbers: min, quartiles (linear interpolation, numpy's default) and max, of
// the finite values; nonfinite counts those left out.
struct FiveNumbers {
  double min = 0, q1 = 0, median = 0, q3 = 0, max = 0, mean = 0;
  int64_t n = 0, nonfinite = 0;
};
FiveNumbers five_numbers(std::vector<double> xs);
nlohmann::json to_json(const MeanStd& s);
nlohmann::json to_json(const FiveNumbers& f);

}  // namespace cg::gan
