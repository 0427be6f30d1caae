// Folds, confusion matrices and summary statistics (see eval_stats.h).
#include "eval/eval_stats.h"

#include <algorithm>
#include <cmath>

#include "base/check.h"
#include "engine/philox.h"

namespace cg::gan {

std::vector<std::vector<int64_t>> stratified_folds(const std::vector<int32_t>& labels, int k, uint64_t seed) {
  const int64_t n = int64_t(labels.size());
  CG_USER_CHECK(k >= 2, "Cross-validation needs at least 2 folds, got ", k, ".");
  CG_USER_CHECK(k <= n, "Cannot split ", n, " covers into ", k, " folds.");
  int32_t K = 0;
  for (int32_t l : labels) {
    CG_CHECK(l >= 0, "stratified_folds: negative label ", l);
    K = std::max(K, l + 1);
  }
  std::vector<std::vector<int64_t>> by_genre(static_cast<size_t>(K)), folds(static_cast<size_t>(k));
  for (int64_t i = 0; i < n; ++i) by_genre[size_t(labels[size_t(i)])].push_back(i);
  Philox rng(seed);
  int next = 0;  // carried across genres so the folds stay within one item of each other
  for (auto& items : by_genre) {
    for (int64_t i = int64_t(items.size()) - 1; i > 0; --i)  // Fisher-Yates
      std::swap(items[size_t(i)], items[size_t(rng.next_below(i + 1))]);
    for (int64_t i : items) folds[size_t(next)].push_back(i), next = (next + 1) % k;
  }
  for (auto& f : folds) std::sort(f.begin(), f.end());
  return folds;
}

std::vector<int64_t> fold_complement(const std::vector<std::vector<int64_t>>& folds, int f) {
  std::vector<int64_t> out;
  for (size_t j = 0; j < folds.size(); ++j)
    if (int(j) != f) out.insert(out.end(), folds[j].begin(), folds[j].end());
  std::sort(out.begin(), out.end());
  return out;
}

void Confusion::add(int32_t truth, int32_t pred) {
  CG_CHECK(truth >= 0 && truth < K && pred >= 0 && pred < K, "Confusion::add: (", truth, ",", pred,
           ") outside ", K, " genres");
  ++m[size_t(truth) * size_t(K) + size_t(pred)];
}

void Confusion::add(const Confusion& o) {
  CG_CHECK(o.K == K, "Confusion::add: ", o.K, " genres into ", K);
  for (size_t i = 0; i < m.size(); ++i) m[i] += o.m[i];
}

int64_t Confusion::total() const {
  int64_t t = 0;
  for (int64_t v : m) t += v;
  return t;
}

double Confusion::accuracy() const {
  int64_t diag = 0;
  for (int g = 0; g < K; ++g) diag += at(g, g);
  const int64_t t = total();
  return t > 0 ? double(diag) / double(t) : 0.0;
}

double Confusion::recall(int g) const {
  int64_t row = 0;
  for (int p = 0; p < K; ++p) row += at(g, p);
  return row > 0 ? double(at(g, g)) / double(row) : 0.0;
}

nlohmann::json Confusion::to_json(const std::vector<std::string>& genres) const {
  nlohmann::json rows = nlohmann::json::array();
  for (int t = 0; t < K; ++t) {
    nlohmann::json r = nlohmann::json::array();
    for (int p = 0; p < K; ++p) r.push_back(at(t, p));
    rows.push_back(r);
  }
  return {{"genres", genres}, {"rows_true_cols_predicted", rows}, {"accuracy", accuracy()}, {"total", total()}};
}

Confusion confusion_of(const std::vector<int32_t>& truth, const std::vector<int32_t>& pred, int K) {
  CG_CHECK(truth.size() == pred.size(), "confusion_of: ", truth.size(), " labels, ", pred.size(), " predictions");
  Confusion c(K);
  for (size_t i = 0; i < truth.size(); ++i) c.add(truth[i], pred[i]);
  return c;
}

MeanStd mean_std(const std::vector<double>& xs) {
  MeanStd s;
  s.n = int64_t(xs.size());
  if (xs.empty()) return s;
  for (double x : xs) s.mean += x;
  s.mean /= double(xs.size());
  if (xs.size() > 1) {
    double ss = 0;
    for (double x : xs) ss += (x - s.mean) * (x - s.mean);
    s.std = std::sqrt(ss / double(xs.size() - 1));
  }
  return s;
}

namespace {
double quantile(const std::vector<double>& sorted, double q) {
  const double pos = q * double(sorted.size() - 1);
  const size_t lo = size_t(std::floor(pos)), hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - double(lo)) * (sorted[hi] - sorted[lo]);
}
}  // namespace

FiveNumbers five_numbers(std::vector<double> xs) {
  FiveNumbers f;
  // A NaN would break the sort's ordering (undefined behaviour) and every quantile.
  const auto finite_end = std::partition(xs.begin(), xs.end(), [](double x) { return std::isfinite(x); });
  f.nonfinite = int64_t(xs.end() - finite_end);
  xs.erase(finite_end, xs.end());
  f.n = int64_t(xs.size());
  if (xs.empty()) return f;
  std::sort(xs.begin(), xs.end());
  f.min = xs.front(), f.max = xs.back();
  f.q1 = quantile(xs, 0.25), f.median = quantile(xs, 0.5), f.q3 = quantile(xs, 0.75);
  for (double x : xs) f.mean += x;
  f.mean /= double(xs.size());
  return f;
}

nlohmann::json to_json(const MeanStd& s) { return {{"mean", s.mean}, {"std", s.std}, {"n", s.n}}; }
nlohmann::json to_json(const FiveNumbers& f) {
  nlohmann::json j = {{"min", f.min}, {"q1", f.q1}, {"median", f.median}, {"q3", f.q3},
                      {"max", f.max}, {"mean", f.mean}, {"n", f.n}};
  if (f.nonfinite > 0) j["nonfinite"] = f.nonfinite;
  return j;
}

}  // namespace cg::gan
