// Issue 23: tests of the evaluation's numbers, not only its shape. The classifier's folds
// are disjoint and one rebuilt by hand gives the same model and accuracy bit for bit;
// eval's generated covers are regenerated from the genres it recorded (so each cover is
// labelled with the genre it was made with) and D's accuracy is recomputed from its
// predictions; picture writers survive planted NaN and infinities.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "data/dataset.h"
#include "data/image.h"
#include "data/plot.h"
#include "data/roofline.h"
#include "eval/classifier.h"
#include "eval/eval_run.h"
#include "eval_fixtures.h"
#include "gan/checkpoint.h"
#include "gan/sampler.h"
#include "support/temp_dir.h"

using namespace cg;
using namespace cg::gan;

namespace {
data::Image load_png(const std::string& path) {
  const auto bytes = data::read_file_bytes(path);
  return data::decode_image(bytes.data(), bytes.size());
}
}  // namespace

TEST_CASE("classifier folds: disjoint and covering and one fold rebuilt by hand gives the same model and accuracy") {
  cgtest::TempDir dir("folds");
  evaltest::write_stripes(dir / "d.cgd", 10, 16, {"a", "b", "c"});
  const data::Dataset ds = data::Dataset::open(dir / "d.cgd");
  ClassifierConfig cfg;
  cfg.base_channels = 4, cfg.epochs = 2, cfg.batch = 8, cfg.lr = 2e-3, cfg.quiet = true, cfg.seed = 7;
  const int k = 3;
  const auto cv = cross_validate_classifier(ds, k, cfg, "");
  REQUIRE(cv.test_idx.size() == size_t(k));
  REQUIRE(cv.train_idx.size() == size_t(k));
  std::set<int64_t> tested;
  for (int f = 0; f < k; ++f) {
    CAPTURE(f);
    const std::set<int64_t> test(cv.test_idx[size_t(f)].begin(), cv.test_idx[size_t(f)].end());
    const std::set<int64_t> train(cv.train_idx[size_t(f)].begin(), cv.train_idx[size_t(f)].end());
    for (int64_t i : train) CHECK(test.count(i) == 0);  // never tested on a cover it trained on
    CHECK(test.size() + train.size() == size_t(ds.info().count));
    for (int64_t i : test) CHECK(tested.insert(i).second);  // each cover held out once
  }
  CHECK(tested.size() == size_t(ds.info().count));
  // Fold 2 again, from its held-out covers alone: every other cover is its training set.
  const int f = 1;
  std::vector<int64_t> train;
  for (int64_t i = 0; i < ds.info().count; ++i)
    if (!std::count(cv.test_idx[f].begin(), cv.test_idx[f].end(), i)) train.push_back(i);
  ModelConfig m;
  m.image_size = 16, m.base_channels = cfg.base_channels, m.num_genres = 3;
  Discriminator C(m, Device::cpu);
  train_classifier(C, ds, train, cfg, classifier_fold_seed(cfg.seed, f), "");
  const auto mine = C.params().flat().to_vector(), theirs = cv.models[f]->params().flat().to_vector();
  CHECK(mine == theirs);
  const auto pred = predict_dataset(C, ds, cv.test_idx[f], BnMode::batch, 256);
  std::vector<int32_t> truth;
  for (int64_t i : cv.test_idx[f]) truth.push_back(ds.label(i));
  CHECK(confusion_of(truth, pred, 3).accuracy() == cv.fold_accuracy[f]);  // exactly
}

TEST_CASE("eval: the recorded genres regenerate the covers bit for bit and D's accuracy follows from its predictions") {
  cgtest::TempDir dir("evalnum");
  const std::vector<std::string> genres{"jazz", "rock", "metal"};
  const std::string data = dir / "labeled.cgd";
  evaltest::write_stripes(data, 12, 16, genres);
  // Larger initial weights than training's: an untrained D whose genre guesses vary with
  // the cover, so scoring them against the wrong labels changes the numbers.
  const std::string ck = evaltest::write_checkpoint(dir.path().string(), data, genres, 16, 0.3);
  EvalTrace trace;
  EvalOptions o;
  o.ckpt = ck, o.data = data, o.out = dir / "report", o.trace = &trace;
  o.pairs = 5, o.generated = 20, o.folds = 2, o.classifier_epochs = 1, o.quiet = true, o.seed = 4;
  const nlohmann::json r = run_eval(o);
  const int64_t N = 20 * 3;
  REQUIRE(trace.generated.dim(0) == N);
  REQUIRE(trace.genres.size() == size_t(N));
  REQUIRE(trace.d_predicted.size() == size_t(N));
  for (int g = 0; g < 3; ++g) CHECK(std::count(trace.genres.begin(), trace.genres.end(), g) == 20);
  CHECK_FALSE(std::is_sorted(trace.genres.begin(), trace.genres.end()));  // shuffled: batches of mixed genres
  // Every batch again, from the recorded genres and the latent stream's recorded offset.
  const Checkpoint c = Checkpoint::load(ck);
  Generator G(c.config().model, Device::cpu);
  c.restore(G);
  const int64_t per = 3 * 16 * 16;
  REQUIRE(trace.batch_offsets.size() == size_t((N + trace.batch - 1) / trace.batch));
  for (size_t b = 0; b < trace.batch_offsets.size(); ++b) {
    CAPTURE(b);
    const int64_t b0 = int64_t(b) * trace.batch, n = std::min(trace.batch, N - b0);
    Philox rng(trace.rng_seed, trace.batch_offsets[b]);
    const std::vector<int32_t> chunk(trace.genres.begin() + b0, trace.genres.begin() + b0 + n);
    const Tensor x = generate(G, draw_latents_for(c.config().model, chunk, rng), BnMode::batch);
    CHECK(std::equal(x.data<float>(), x.data<float>() + n * per, trace.generated.data<float>() + b0 * per));
  }
  // D's accuracy on generated covers: the summed confusion and the mean over the chunks.
  const auto& gen = r["d_accuracy"]["generated"];
  const Confusion all = confusion_of(trace.genres, trace.d_predicted, 3);
  CHECK(gen["confusion"]["rows_true_cols_predicted"] == all.to_json(genres)["rows_true_cols_predicted"]);
  std::vector<double> per_chunk;
  for (int ch = 0; ch < o.folds; ++ch) {
    Confusion cc(3);
    for (int64_t i = ch; i < N; i += o.folds) cc.add(trace.genres[size_t(i)], trace.d_predicted[size_t(i)]);
    per_chunk.push_back(cc.accuracy());
  }
  CHECK(gen["per_chunk"].get<std::vector<double>>() == per_chunk);
  CHECK(gen["accuracy"]["mean"].get<double>() == doctest::Approx(mean_std(per_chunk).mean).epsilon(1e-15));
  // The check above can fail: against the genres in unshuffled order the confusion differs.
  std::vector<int32_t> unshuffled = trace.genres;
  std::sort(unshuffled.begin(), unshuffled.end());
  REQUIRE(confusion_of(unshuffled, trace.d_predicted, 3).m != all.m);
}

TEST_CASE("picture writers skip NaN and infinities with a note and never hang") {
  cgtest::TempDir dir("nanplot");
  const std::vector<std::string> names{"a", "b"};
  const std::vector<std::array<uint8_t, 3>> colors{{{200, 0, 0}}, {{0, 0, 200}}};
  // A box with a NaN (an MS-SSIM that went NaN) and one with infinities.
  // A NaN third quartile made the base code walk 2^31 pixels (the whisker line to INT_MIN).
  const std::vector<BoxGroup> groups{{"g1", {{0.1, 0.2, 0.3, NAN, 0.5}, {0.2, 0.3, 0.4, 0.5, 0.6}}},
                                     {"g2", {{-INFINITY, 0.2, 0.3, 0.4, INFINITY}, {NAN, NAN, NAN, NAN, NAN}}}};
  const PlotNotes bn = write_box_plot(dir / "box.png", groups, names, colors, "boxes");
  CHECK(bn.skipped == 2);
  CHECK(bn.clipped == 2);
  CHECK(load_png(dir / "box.png").width == 900);
  // Axis ranges that are no ranges: reversed, NaN, a tick of 0 or NaN.
  for (const auto& [y0, y1, tick] : {std::tuple{1.0, 0.0, 0.1}, {NAN, 1.0, 0.1}, {0.0, 1.0, 0.0}, {0.0, 1.0, NAN},
                                     {0.0, 1e300, 1e-300}}) {
    CAPTURE(y0);
    CHECK_NOTHROW(write_box_plot(dir / "box2.png", groups, names, colors, "axes", y0, y1, tick));
  }
  // Lines through NaN, +-inf and +-1e308 (the range of those once overflowed to inf).
  PlotSeries s{"s", {0, 0, 0}, {1, 2, 3, 4, 5, 6, NAN, 8}, {1.0, NAN, INFINITY, -INFINITY, 1e308, -1e308, 2.0, 3.0}};
  const PlotNotes ln = write_line_plot(dir / "line.png", {s}, "lines");
  CHECK(ln.skipped == 4);  // NaN y, +inf, -inf, NaN x
  CHECK(ln.clipped == 2);  // +-1e308
  CHECK(ln.note().find("4 non-finite values skipped") != std::string::npos);
  CHECK(load_png(dir / "line.png").height == 400);
  PlotSeries empty{"e", {0, 0, 0}, {NAN}, {NAN}};
  CHECK(write_line_plot(dir / "empty.png", {empty}, "nothing").skipped == 1);
}

TEST_CASE("plot data: ranges are finite and non-empty with bounded ticks and pixels near the canvas") {
  for (const auto& [lo, hi] : {std::pair{0.0, 0.0}, {5.0, 5.0}, {-1e308, 1e308}, {NAN, 1.0}, {3.0, 1.0},
                               {1e30, 1e30}, {-INFINITY, INFINITY}}) {
    CAPTURE(lo);
    CAPTURE(hi);
    const AxisRange r = safe_range(lo, hi);
    CHECK(std::isfinite(r.lo));
    CHECK(std::isfinite(r.hi));
    CHECK(r.hi > r.lo);
    CHECK(std::isfinite(r.hi - r.lo));
    for (double v : std::initializer_list<double>{lo, hi, 0.0, NAN, INFINITY, -INFINITY, 1e308}) {
      const int p = to_pixel(v, r, 300, 20);
      CHECK(p >= 20 - 282);
      CHECK(p <= 300 + 282);
    }
  }
  CHECK(to_pixel(0.0, {0, 1}, 300, 20) == 300);
  CHECK(to_pixel(1.0, {0, 1}, 300, 20) == 20);
  CHECK(to_pixel(0.5, {0, 1}, 0, 100) == 50);
  CHECK(safe_ticks(0, 1, 0.1).size() == 11);
  CHECK(safe_ticks(0, 1, 1e-12).size() <= 51);
  CHECK(safe_ticks(0, 1, 0).size() <= 51);
}

TEST_CASE("the roofline picture finishes with ceilings and points that are infinite or NaN or extreme") {
  // An infinite bandwidth (a copy timed at zero seconds) once made an axis start at
  // -infinity, and its decade loop never ended.
  cgtest::TempDir dir("roofnan");
  const std::vector<data::RooflinePoint> pts{{"D.conv1", "forward", 1e308, 1e-308},
                                             {"D.conv2", "backward", 2.0, 50.0},
                                             {"G.fc", "forward", NAN, 1.0},
                                             {"G.deconv1", "update", INFINITY, 3.0}};
  for (const auto& [peak, bw] : {std::pair{INFINITY, 10.0}, {1000.0, INFINITY}, {NAN, NAN}, {1e308, 1e-308},
                                 {1e300, 1e-10}, {0.0, 0.0}}) {
    CAPTURE(peak);
    CAPTURE(bw);
    data::write_roofline_png(dir / "roof.png", pts, peak, bw, "roofline");
    CHECK(load_png(dir / "roof.png").width > 0);
  }
}
