// The Fréchet distance and precision/recall section of eval (see eval_fidelity.h).
//
// FID is biased upward at small sample sizes (by roughly d/n), so the generated covers are
// only ever compared at the sample sizes of the real-real reference: each round splits the
// real covers of a genre at random into halves A and B, and draws two disjoint sets of
// generated covers G1 (|B| covers) and G2 (|A|); the reference is FID(A, B), the model
// ½(FID(G1, A) + FID(G2, B)). The value is the mean over the rounds, the interval their
// 2.5-97.5 percentiles. Resampling with replacement (the plain bootstrap) would repeat
// covers, shrink the covariances' rank and raise FID by more than its spread.
#include "eval/eval_fidelity.h"

#include <algorithm>
#include <cstdio>

#include "data/holdout.h"
#include "engine/philox.h"
#include "eval/features.h"
#include "eval/frechet.h"
#include "eval/precision_recall.h"

namespace cg::gan {
namespace {

using json = nlohmann::json;

json interval_json(const Interval& i) { return {{"value", i.value}, {"lo", i.lo}, {"hi", i.hi}, {"rounds", i.rounds}}; }

template <class T>
void shuffle(std::vector<T>& v, Philox& rng) {
  for (int64_t i = int64_t(v.size()) - 1; i > 0; --i) std::swap(v[size_t(i)], v[size_t(rng.next_below(i + 1))]);
}

struct Rounds {
  std::vector<double> fid, fid_rr, precision, recall, precision_rr, recall_rr;
};

// One genre (or all): rows of the real and the generated feature sets.
json compare(const Features& real, std::vector<int64_t> rows, const Features& gen, std::vector<int64_t> grows,
             int rounds, Philox& rng) {
  const int d = real.d, k = 3;
  const size_t half = rows.size() / 2, other = rows.size() - half;
  json out = {{"n_real_reference", other}, {"n_real_other", half}, {"n_generated", other}};
  if (half < 2 || grows.size() < other) {
    out["skipped"] = "fewer than 4 real covers, or fewer generated covers than half of them";
    return out;
  }
  const bool pr = half > size_t(k);
  Rounds r;
  for (int t = 0; t < std::max(rounds, 1); ++t) {
    shuffle(rows, rng);
    shuffle(grows, rng);
    const std::vector<int64_t> a(rows.begin(), rows.begin() + long(half)), b(rows.begin() + long(half), rows.end());
    // Disjoint generated draws when there are enough, else two independent ones.
    const bool disjoint = grows.size() >= rows.size();
    std::vector<int64_t> g1(grows.begin(), grows.begin() + long(other)), g2;
    if (!disjoint) shuffle(grows, rng);
    const size_t from = disjoint ? other : 0;
    g2.assign(grows.begin() + long(from), grows.begin() + long(from + half));
    const std::vector<double> fa = gather_rows(real, a), fb = gather_rows(real, b), f1 = gather_rows(gen, g1),
                              f2 = gather_rows(gen, g2);
    const int64_t na = int64_t(half), nb = int64_t(other);
    r.fid_rr.push_back(frechet_distance(fa.data(), na, fb.data(), nb, d));
    r.fid.push_back(0.5 * (frechet_distance(f1.data(), nb, fa.data(), na, d) +
                           frechet_distance(f2.data(), na, fb.data(), nb, d)));
    if (pr) {
      const PrecisionRecall m1 = precision_recall(fa.data(), na, f1.data(), nb, d, k),
                            m2 = precision_recall(fb.data(), nb, f2.data(), na, d, k),
                            r1 = precision_recall(fa.data(), na, fb.data(), nb, d, k),
                            r2 = precision_recall(fb.data(), nb, fa.data(), na, d, k);
      r.precision.push_back(0.5 * (m1.precision + m2.precision));
      r.recall.push_back(0.5 * (m1.recall + m2.recall));
      r.precision_rr.push_back(0.5 * (r1.precision + r2.precision));
      r.recall_rr.push_back(0.5 * (r1.recall + r2.recall));
    }
  }
  out["fid"] = interval_json(mean_and_percentiles(r.fid));
  out["fid_real_real"] = interval_json(mean_and_percentiles(r.fid_rr));
  if (pr) {
    out["precision"] = mean_and_percentiles(r.precision).value;
    out["recall"] = mean_and_percentiles(r.recall).value;
    out["precision_real_real"] = mean_and_percentiles(r.precision_rr).value;
    out["recall_real_real"] = mean_and_percentiles(r.recall_rr).value;
    out["k"] = k;
  }
  return out;
}

}  // namespace

json fidelity_section(const FidelityInputs& in) {
  const data::Dataset& ds = *in.ds;
  const int K = int(in.genres.size());
  const size_t bytes = size_t(ds.info().size) * size_t(ds.info().size) * size_t(ds.info().channels);
  auto trained = [&](int64_t i) {
    return std::binary_search(in.trained_on.begin(), in.trained_on.end(), data::pixel_hash(ds.pixels(i), bytes));
  };
  std::vector<int64_t> pool, calib;  // covers the classifier never trained on / did
  for (int64_t i = 0; i < ds.info().count; ++i) {
    if (!trained(i)) pool.push_back(i);
    if (in.trained_on.empty() || trained(i)) calib.push_back(i);
  }
  json out = {{"features", "the baseline classifier's last conv block, averaged over its 4x4 positions"},
              {"model", in.model_name},
              {"real_unseen_by_model", pool.size()},
              {"model_training_known", !in.trained_on.empty()},
              {"method", "per round: real covers split at random into halves A, B; reference FID(A,B); model "
                         "(FID(G1,A) + FID(G2,B))/2 with disjoint generated draws of the same sizes; value: mean "
                         "over the rounds, interval: their 2.5-97.5 percentiles"}};
  const bool own = calib.size() >= 2;  // another set than the classifier's: calibrate on all of it
  if (!own)
    for (int64_t i = 0; i < ds.info().count; ++i) calib.push_back(i);
  const std::unique_ptr<Discriminator> F = with_fixed_statistics(*in.model, ds, calib, in.batch);
  out["batchnorm"] = "fixed: the mean of each BatchNorm's batch statistics over " + std::to_string(calib.size()) +
                     (own ? " covers the classifier trained on" : " covers of this set (the classifier trained on none)");
  const Features real = classifier_features(*F, ds, pool, in.batch, BnMode::eval);
  const Features gen = classifier_features(*F, in.generated->to(F->params().device()), in.batch, BnMode::eval);
  out["dimensions"] = real.d;
  Philox rng(in.seed * 7717 + 29);
  std::vector<int64_t> all_rows, all_grows;
  json per = json::array();
  for (int g = 0; g < K; ++g) {
    std::vector<int64_t> rows, grows;
    for (size_t i = 0; i < pool.size(); ++i)
      if (ds.label(pool[i]) == g) rows.push_back(int64_t(i));
    for (size_t i = 0; i < in.generated_genre.size(); ++i)
      if (in.generated_genre[i] == g) grows.push_back(int64_t(i));
    all_rows.insert(all_rows.end(), rows.begin(), rows.end());
    json c = compare(real, rows, gen, grows, in.bootstrap, rng);
    c["genre"] = in.genres[size_t(g)];
    if (!in.quiet && c.contains("fid")) {
      std::printf("  Frechet distance %s: %.3f (real-real %.3f), precision %.2f recall %.2f\n",
                  in.genres[size_t(g)].c_str(), c["fid"]["value"].get<double>(),
                  c["fid_real_real"]["value"].get<double>(), c.value("precision", -1.0), c.value("recall", -1.0));
      std::fflush(stdout);
    }
    per.push_back(c);
  }
  // All genres: the generated covers in the real pool's genre proportions.
  for (int g = 0; g < K; ++g) {
    int64_t want = 0;
    for (int64_t i : all_rows) want += ds.label(pool[size_t(i)]) == g;
    std::vector<int64_t> grows;
    for (size_t i = 0; i < in.generated_genre.size(); ++i)
      if (in.generated_genre[i] == g) grows.push_back(int64_t(i));
    shuffle(grows, rng);
    grows.resize(std::min<size_t>(grows.size(), size_t(want)));
    all_grows.insert(all_grows.end(), grows.begin(), grows.end());
  }
  out["per_genre"] = per;
  out["overall"] = compare(real, all_rows, gen, all_grows, in.bootstrap, rng);
  return out;
}

}  // namespace cg::gan
