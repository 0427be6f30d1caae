// Stratified folds (disjoint, covering, stratified), confusion matrices and
// accuracies on planted predictions, mean +- std and quartiles on known values.
#include <doctest/doctest.h>

#include <set>

#include "eval/eval_stats.h"

using namespace cg::gan;

TEST_CASE("stratified folds are disjoint, cover every item and keep each genre's share") {
  std::vector<int32_t> labels;
  const int counts[] = {23, 7, 50, 11};  // uneven genres
  for (int g = 0; g < 4; ++g)
    for (int i = 0; i < counts[g]; ++i) labels.push_back(g);
  for (int k : {2, 3, 5, 7}) {
    const auto folds = stratified_folds(labels, k, 42);
    REQUIRE(folds.size() == size_t(k));
    std::set<int64_t> seen;
    size_t lo = labels.size(), hi = 0;
    for (const auto& f : folds) {
      lo = std::min(lo, f.size()), hi = std::max(hi, f.size());
      for (int64_t i : f) CHECK(seen.insert(i).second);  // disjoint
      for (int g = 0; g < 4; ++g) {
        int64_t n = 0;
        for (int64_t i : f) n += labels[size_t(i)] == g;
        CHECK(n >= counts[g] / k);      // stratified: floor or ceil of n_g / k
        CHECK(n <= (counts[g] + k - 1) / k);
      }
    }
    CHECK(seen.size() == labels.size());  // covering
    CHECK(hi - lo <= 1);
    const auto train = fold_complement(folds, 1);
    CHECK(train.size() + folds[1].size() == labels.size());
    for (int64_t i : folds[1]) CHECK(!std::binary_search(train.begin(), train.end(), i));
  }
  CHECK(stratified_folds(labels, 5, 1) != stratified_folds(labels, 5, 2));  // the seed shuffles
  CHECK(stratified_folds(labels, 5, 1) == stratified_folds(labels, 5, 1));
  CHECK_THROWS(stratified_folds(labels, 1, 1));
  CHECK_THROWS(stratified_folds({0, 1}, 3, 1));
}

TEST_CASE("confusion and accuracy on planted predictions") {
  // truth 0,0,0,1,1,2 ; predictions: two of genre 0 right, one called 2; genre 1 both called 0; genre 2 right.
  const Confusion c = confusion_of({0, 0, 0, 1, 1, 2}, {0, 0, 2, 0, 0, 2}, 3);
  CHECK(c.at(0, 0) == 2);
  CHECK(c.at(0, 2) == 1);
  CHECK(c.at(1, 0) == 2);
  CHECK(c.at(1, 1) == 0);
  CHECK(c.at(2, 2) == 1);
  CHECK(c.total() == 6);
  CHECK(c.accuracy() == doctest::Approx(3.0 / 6.0));
  CHECK(c.recall(0) == doctest::Approx(2.0 / 3.0));
  CHECK(c.recall(1) == 0.0);
  Confusion sum(3);
  sum.add(c);
  sum.add(c);
  CHECK(sum.at(1, 0) == 4);
  CHECK(sum.accuracy() == doctest::Approx(0.5));
  const auto j = c.to_json({"a", "b", "c"});
  CHECK(j["rows_true_cols_predicted"][1][0] == 2);
  CHECK_THROWS(confusion_of({0, 3}, {0, 0}, 3));
}

TEST_CASE("mean, sample std and quartiles") {
  const MeanStd s = mean_std({0.35, 0.33, 0.37});
  CHECK(s.mean == doctest::Approx(0.35));
  CHECK(s.std == doctest::Approx(0.02));  // sample (n-1) std
  CHECK(mean_std({4.0}).std == 0.0);
  const FiveNumbers f = five_numbers({5, 1, 4, 2, 3});
  CHECK(f.min == 1);
  CHECK(f.q1 == 2);
  CHECK(f.median == 3);
  CHECK(f.q3 == 4);
  CHECK(f.max == 5);
  CHECK(five_numbers({1, 2, 3, 4}).q1 == doctest::Approx(1.75));  // numpy's linear interpolation
}
