// The labeled set's holdout: stratified (round(F * n) of each genre), disjoint from the
// training part, the same covers whatever their order in the file and on every call, a
// different choice for another seed; and the loader restricted to the training part
// never hands out a held-out cover.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>

#include "data/dataset.h"
#include "data/holdout.h"
#include "data/loader.h"
#include "support/temp_dir.h"

using namespace cg::data;

namespace {

constexpr int S = 8;

struct Cover {
  std::vector<uint8_t> px;
  int32_t label;
};

// n covers of distinct pixels, genre sizes 0: 40%, 1: 35%, 2: 25% (unequal on purpose).
std::vector<Cover> make_covers(int n) {
  std::vector<Cover> out;
  std::mt19937 rng(9);
  for (int i = 0; i < n; ++i) {
    Cover c;
    c.label = i < n * 4 / 10 ? 0 : i < n * 75 / 100 ? 1 : 2;
    c.px.resize(S * S * 3);
    for (auto& v : c.px) v = uint8_t(rng());
    c.px[0] = uint8_t(i), c.px[1] = uint8_t(i >> 8);  // distinct
    out.push_back(std::move(c));
  }
  return out;
}

std::string write(const cgtest::TempDir& dir, const std::string& name, const std::vector<Cover>& covers) {
  DatasetInfo info;
  info.count = int64_t(covers.size()), info.size = S, info.genres = {"a", "b", "c"};
  std::vector<uint8_t> px;
  std::vector<int32_t> labels;
  for (const auto& c : covers) px.insert(px.end(), c.px.begin(), c.px.end()), labels.push_back(c.label);
  const std::string path = (dir.path() / name).string();
  write_dataset(path, info, px.data(), labels);
  return path;
}

}  // namespace

TEST_CASE("the holdout is stratified, disjoint from the training part and covers every cover once") {
  cgtest::TempDir dir;
  const Dataset ds = Dataset::open(write(dir, "a.cgd", make_covers(203)));
  for (double f : {0.0, 0.1, 0.25}) {
    INFO("fraction " << f);
    const HoldoutSplit s = holdout_split(ds, f, 0);
    const auto counts = ds.genre_counts();
    std::vector<int64_t> held(3, 0);
    for (int64_t i : s.held_out) ++held[size_t(ds.label(i))];
    for (int g = 0; g < 3; ++g) {
      CHECK(held[size_t(g)] == holdout_count(f, counts[size_t(g)]));
      CHECK(s.held_out_per_genre[size_t(g)] == held[size_t(g)]);
    }
    std::set<int64_t> all(s.train.begin(), s.train.end());
    for (int64_t i : s.held_out) CHECK(all.insert(i).second);  // never in both parts
    CHECK(int64_t(all.size()) == ds.info().count);
    CHECK(std::is_sorted(s.train.begin(), s.train.end()));
    CHECK(s.held_out_hashes.size() == s.held_out.size());
  }
  CHECK(holdout_count(0.1, 81) == 8);  // round(8.1)
  CHECK(holdout_count(0.1, 85) == 9);  // round(8.5) rounds half away from zero
  CHECK(holdout_count(0.5, 1) == 0);   // a genre keeps a training cover
  CHECK(holdout_count(0.9, 2) == 1);
  CHECK_THROWS_AS(holdout_split(ds, 1.0, 0), cg::Error);
}

TEST_CASE("the holdout holds out the same covers in every call and file order, another seed other covers") {
  cgtest::TempDir dir;
  std::vector<Cover> covers = make_covers(150);
  const Dataset a = Dataset::open(write(dir, "a.cgd", covers));
  std::shuffle(covers.begin(), covers.end(), std::mt19937(4));
  const Dataset b = Dataset::open(write(dir, "b.cgd", covers));
  const HoldoutSplit sa = holdout_split(a, 0.2, 7), sa2 = holdout_split(a, 0.2, 7), sb = holdout_split(b, 0.2, 7);
  CHECK(sa.held_out == sa2.held_out);
  CHECK(sa.held_out_hashes == sb.held_out_hashes);  // the same covers, wherever they sit in the file
  CHECK(sa.held_out != sb.held_out);                // (at other indices)
  const HoldoutSplit other = holdout_split(a, 0.2, 8);
  CHECK(other.held_out_hashes != sa.held_out_hashes);
  CHECK(other.held_out.size() == sa.held_out.size());
  // A larger fraction holds out a superset: raising it never returns a cover to training.
  const HoldoutSplit more = holdout_split(a, 0.3, 7);
  CHECK(std::includes(more.held_out.begin(), more.held_out.end(), sa.held_out.begin(), sa.held_out.end()));
}

TEST_CASE("a loader given the training part never hands out a held-out cover") {
  cgtest::TempDir dir;
  const Dataset ds = Dataset::open(write(dir, "a.cgd", make_covers(120)));
  const HoldoutSplit s = holdout_split(ds, 0.25, 3);
  LoaderConfig cfg;
  cfg.batch = 10, cfg.seed = 5;
  BatchAssembler as(ds, cfg, s.train);
  CHECK(as.batches_per_epoch() == int64_t(s.train.size()) / 10);
  const std::set<uint64_t> held(s.held_out_hashes.begin(), s.held_out_hashes.end());
  std::set<uint64_t> seen;
  std::vector<uint8_t> px(10 * S * S * 3), flips(10);
  std::vector<int32_t> labels(10);
  for (int64_t e = 0; e < 6; ++e)
    for (int64_t b = 0; b < as.batches_per_epoch(); ++b) {
      as.fill(e, b, px.data(), labels.data(), flips.data());
      for (int j = 0; j < 10; ++j) {
        const uint64_t h = pixel_hash(px.data() + j * S * S * 3, S * S * 3);
        CHECK(held.count(h) == 0);
        seen.insert(h);
      }
    }
  CHECK(seen.size() == s.train.size());  // and over six epochs every training cover comes up
}
