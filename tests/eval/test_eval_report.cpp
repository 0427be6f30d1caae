// End to end on a tiny model: a checkpoint written here (untrained, 16x16), a
// labeled dataset of distinct striped genres, `covergan eval` with small bounds:
// report.json parses, holds the sections the page shows, every linked picture
// exists; a saved classifier loads back; mismatched checkpoints give one sentence.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "support/temp_dir.h"
#include "data/dataset.h"
#include "gan/checkpoint.h"
#include "eval/classifier.h"
#include "eval/eval_report.h"
#include "eval/eval_run.h"

using namespace cg;
using namespace cg::gan;

namespace {

// n covers per genre: genre g has stripes of its own hue and orientation (easy to tell apart).
void write_stripes(const std::string& path, int per_genre, int S, const std::vector<std::string>& genres,
                   uint32_t seed = 3) {
  std::mt19937 r(seed);
  std::vector<uint8_t> px;
  std::vector<int32_t> labels;
  for (int g = 0; g < int(genres.size()); ++g)
    for (int i = 0; i < per_genre; ++i) {
      const int phase = int(r() % 4);
      for (int y = 0; y < S; ++y)
        for (int x = 0; x < S; ++x) {
          const bool on = ((g % 2 ? x : y) + phase) / 2 % 2;
          for (int c = 0; c < 3; ++c) px.push_back(uint8_t(on ? (c == g % 3 ? 230 : 40) : 20 + int(r() % 30)));
        }
      labels.push_back(g);
    }
  data::DatasetInfo info;
  info.size = S;
  info.genres = genres;
  info.count = int64_t(labels.size());
  data::write_dataset(path, info, px.data(), labels);
}

std::string write_checkpoint(const cgtest::TempDir& dir, const std::string& data, const std::vector<std::string>& genres,
                             int S) {
  TrainConfig cfg;
  cfg.genres = genres;
  cfg.data = data;
  cfg.holdout = 0;  // as a run that trained on every cover
  cfg.batch = 16;
  cfg.model.image_size = S;
  cfg.model.base_channels = 4;
  cfg.model.num_genres = int(genres.size());
  Generator G(cfg.model, Device::cpu);
  Discriminator D(cfg.model, Device::cpu);
  Philox rng(1);
  G.init(rng);
  D.init(rng);
  std::filesystem::create_directories(dir / "run/checkpoints");
  const std::string path = dir / "run/checkpoints/step_00000001.safetensors";
  save_checkpoint(path, cfg, G, &D, nullptr, nullptr, TrainState{});
  return path;
}

}  // namespace

TEST_CASE("eval writes a report whose JSON parses and whose pictures exist") {
  cgtest::TempDir dir;
  const std::vector<std::string> genres{"jazz", "rock", "metal"};
  const std::string data = dir / "labeled.cgd";
  write_stripes(data, 12, 16, genres);
  const std::string ck = write_checkpoint(dir, data, genres, 16);
  EvalOptions o;
  o.ckpt = dir / "run";  // a run folder: its newest checkpoint
  o.data = data;
  o.out = dir / "report";
  o.pairs = 20, o.generated = 8, o.folds = 2, o.classifier_epochs = 3, o.quiet = true;
  run_eval(o);
  std::ifstream f(dir / "report/report.json");
  const nlohmann::json r = nlohmann::json::parse(f);
  CHECK(r["checkpoint"]["path"] == ck);
  REQUIRE(r["msssim"]["per_genre"].size() == 3);
  for (const auto& g : r["msssim"]["per_genre"]) {
    CHECK(g["real_real"]["n"] == 20);
    CHECK(g["generated_generated"]["min"].get<double>() >= 0.0);
    CHECK(g["real_generated"]["max"].get<double>() <= 1.0);
  }
  // Every cover is in the run's training file: D's real accuracy is labelled as trained-on.
  CHECK(r["d_accuracy"]["real_split"] == "compared");
  CHECK(r["d_accuracy"]["real_seen_count"] == 36);
  CHECK(r["d_accuracy"].contains("real_trained_on"));
  CHECK(!r["d_accuracy"].contains("real_held_out"));
  CHECK(r["d_accuracy"]["generated"]["confusion"]["total"] == 24);
  CHECK(r["baseline"]["real_held_out"]["accuracy"]["n"] == 2);
  CHECK(r["baseline"]["generated"]["confusion"]["total"] == 48);  // two fold models x 24 covers
  for (const auto& name : report_images(r)) {
    INFO(name);
    CHECK(std::filesystem::file_size(dir / ("report/" + name)) > 100);
  }
  // What to try next: the report's own signals, in the fixed order (eval/eval_advice.h).
  REQUIRE(r["advice"].size() == 4);
  CHECK(r["advice"][0]["signal"].get<std::string>().find("baseline") == 0);
  CHECK(r["advice"][3]["met"] == false);  // this run has no weight average
  const std::string html = report_html(r);
  CHECK(html.find("What to try next") != std::string::npos);
  CHECK(html.find("msssim.png") != std::string::npos);
  CHECK(html.find("trained on") != std::string::npos);
  std::ifstream hf(dir / "report/report.html");
  CHECK(std::string(std::istreambuf_iterator<char>(hf), {}) == html);
  // The saved fold models load back, with their genres and held-out accuracy.
  const auto cls = load_classifiers(dir / "report/classifier", Device::cpu);
  REQUIRE(cls.size() == 2);
  CHECK(cls[1].info.fold == 2);
  CHECK(cls[0].info.genres == genres);
  CHECK(cls[0].info.heldout_accuracy == doctest::Approx(r["baseline"]["real_held_out"]["per_fold"][0].get<double>()));
  // ... and eval reuses them with --classifier.
  o.classifier = dir / "report/classifier";
  o.out = dir / "report2";
  const auto r2 = run_eval(o);
  CHECK(r2["baseline"]["real_held_out"]["accuracy"]["mean"].get<double>() ==
        doctest::Approx(r["baseline"]["real_held_out"]["accuracy"]["mean"].get<double>()));
  // Covers the run never trained on (another draw of the same genres): held out.
  write_stripes(dir / "other.cgd", 10, 16, genres, 99);
  o.data = dir / "other.cgd";
  o.out = dir / "report3";
  const auto r3 = run_eval(o);
  CHECK(r3["d_accuracy"]["real_unseen_count"] == 30);
  CHECK(r3["d_accuracy"]["real_held_out"]["confusion"]["total"] == 30);
  CHECK(!r3["d_accuracy"].contains("real_trained_on"));
  CHECK(report_html(r3).find("No held-out real covers") == std::string::npos);
}

TEST_CASE("the baseline learns genres that are easy to tell apart") {
  cgtest::TempDir dir;
  const std::vector<std::string> genres{"a", "b", "c"};
  write_stripes(dir / "d.cgd", 20, 16, genres);
  const data::Dataset ds = data::Dataset::open(dir / "d.cgd");
  ClassifierConfig cfg;
  cfg.base_channels = 8, cfg.epochs = 6, cfg.batch = 16, cfg.lr = 2e-3, cfg.quiet = true;
  const auto cv = cross_validate_classifier(ds, 3, cfg, "");
  CHECK(cv.confusion.total() == 60);
  CHECK(cv.accuracy.mean > 0.8);  // chance is 1/3
}

TEST_CASE("eval refuses a checkpoint that does not fit the dataset, in one sentence") {
  cgtest::TempDir dir;
  write_stripes(dir / "a.cgd", 4, 16, {"jazz", "rock"});
  write_stripes(dir / "b.cgd", 4, 32, {"jazz", "rock"});
  const std::string ck = write_checkpoint(dir, dir / "a.cgd", {"jazz", "metal"}, 16);
  EvalOptions o;
  o.ckpt = ck, o.data = dir / "a.cgd", o.out = dir / "r", o.quiet = true;
  try {
    run_eval(o);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("genres jazz, metal") != std::string::npos);
  }
  const std::string ck2 = write_checkpoint(dir, dir / "a.cgd", {"jazz", "rock"}, 16);
  o.ckpt = ck2, o.data = dir / "b.cgd";
  try {
    run_eval(o);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("makes 16x16 covers") != std::string::npos);
  }
  CHECK(!std::filesystem::exists(dir / "r/report.json"));
}
