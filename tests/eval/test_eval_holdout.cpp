// eval on a run that held covers out (train --holdout): D's accuracy on exactly those
// covers beside the paper's 47 %, the baseline cross-validated on the training part only
// and scored on the held-out covers too, the Fréchet distance / precision-recall and
// speckle sections, MS-SSIM at auto scales beside the paper's, G's weight average used for
// sampling; and --all-checkpoints: a summary per checkpoint, curves and the best by a metric.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "data/dataset.h"
#include "data/holdout.h"
#include "eval/eval_all.h"
#include "eval/eval_report.h"
#include "eval/eval_run.h"
#include "gan/checkpoint.h"
#include "gan/proc_util.h"
#include "support/temp_dir.h"

using namespace cg;
using namespace cg::gan;

namespace {

void write_stripes(const std::string& path, int per_genre, int S, const std::vector<std::string>& genres) {
  std::mt19937 r(5);
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
  info.size = S, info.genres = genres, info.count = int64_t(labels.size());
  data::write_dataset(path, info, px.data(), labels);
}

// An untrained 16x16 run with a 25 % holdout and a weight average that differs from G.
void write_run(const std::string& dir, const std::string& data, const std::vector<std::string>& genres,
               std::vector<int64_t> steps) {
  TrainConfig cfg;
  cfg.genres = genres, cfg.data = data, cfg.batch = 16, cfg.holdout = 0.25, cfg.ema = 0.9;
  cfg.model.image_size = 16, cfg.model.base_channels = 4, cfg.model.num_genres = int(genres.size());
  Generator G(cfg.model, Device::cpu), E(cfg.model, Device::cpu);
  Discriminator D(cfg.model, Device::cpu);
  std::filesystem::create_directories(dir + "/checkpoints");
  for (int64_t s : steps) {
    Philox rng(static_cast<uint64_t>(s));
    G.init(rng), E.init(rng), D.init(rng);
    TrainState st;
    st.step = s;
    char name[64];
    std::snprintf(name, sizeof name, "/checkpoints/step_%08lld.safetensors", static_cast<long long>(s));
    save_checkpoint(dir + name, cfg, G, &D, nullptr, nullptr, st, &E);
  }
}

nlohmann::json read(const std::string& p) {
  std::ifstream f(p);
  return nlohmann::json::parse(f);
}

}  // namespace

TEST_CASE("eval scores D and the baseline on the covers the run held out, and reports every new number") {
  cgtest::TempDir dir;
  const std::vector<std::string> genres{"jazz", "rock", "metal"};
  const std::string data = dir / "labeled.cgd";
  write_stripes(data, 16, 16, genres);
  write_run(dir / "run", data, genres, {5});
  EvalOptions o;
  o.ckpt = dir / "run", o.data = data, o.out = dir / "report";
  o.pairs = 20, o.generated = 16, o.folds = 2, o.classifier_epochs = 2, o.bootstrap = 4, o.quiet = true;
  const nlohmann::json r = run_eval(o);
  // 4 of each genre's 16 covers held out: D is scored on exactly those, beside the paper's 47 %.
  const auto& d = r["d_accuracy"];
  CHECK(d["real_unseen_count"] == 12);
  CHECK(d["real_seen_count"] == 36);
  CHECK(d["real_held_out"]["confusion"]["total"] == 12);
  CHECK(r["paper"]["d_real_held_out"]["mean"] == 0.47);
  // The baseline cross-validated on the 36 trained-on covers only (2 folds: 18 tested each),
  // then scored on the 12 held-out covers no model saw.
  CHECK(r["baseline"]["trained_on"] == "the covers the run trained on");
  CHECK(r["baseline"]["real_unseen_by_run"]["covers_per_model"] == std::vector<int64_t>{12, 12});
  const data::Dataset ds = data::Dataset::open(data);
  const auto split = data::holdout_split(ds, 0.25, 0);
  const std::set<uint64_t> held(split.held_out_hashes.begin(), split.held_out_hashes.end());
  // Sampling used G's weight average.
  CHECK(r["checkpoint"]["generator"] == "G_ema");
  // Fréchet distance and precision/recall: real covers the first fold model never saw
  // (its held-out fold, 18, and the run's 12).
  const auto& f = r["frechet"];
  CHECK(f["real_unseen_by_model"] == 30);
  CHECK(f["model_training_known"] == true);
  CHECK(f["overall"]["fid"]["value"].get<double>() >= 0);
  CHECK(f["overall"]["fid"]["rounds"] == 4);
  CHECK(f["overall"]["fid_real_real"]["lo"].get<double>() <= f["overall"]["fid_real_real"]["hi"].get<double>());
  CHECK(f["per_genre"].size() == 3);
  // Speckle per genre, and MS-SSIM at 2 scales (16 px: auto) beside the paper's 5.
  CHECK(r["speckle"]["per_genre"].size() == 3);
  CHECK(r["speckle"]["per_genre"][0]["real"]["n"] == 16);
  CHECK(r["speckle"]["per_genre"][0]["laplacian_ratio"].get<double>() > 0);
  // 16 px covers: rings 0 .. round(11.3), the corners' ratio beside the Laplacian's.
  CHECK(r["speckle"]["per_genre"][0]["ring_ratio"].size() == 12);
  CHECK(r["speckle"]["ring_cycles_per_side"].size() == 12);
  CHECK(r["speckle"]["per_genre"][0]["corner_ratio"].get<double>() > 0);
  CHECK(r["speckle"]["overall"]["corner_ratio"].get<double>() > 0);
  CHECK(r["msssim"]["alt"]["scales"] == 2);
  CHECK(r["msssim"]["per_genre"][0]["alt"]["real_real"]["n"] == 20);
  for (const auto& name : report_images(r)) {
    INFO(name);
    CHECK(std::filesystem::file_size(dir / ("report/" + name)) > 100);
  }
  const std::string html = report_html(r);
  for (const char* s :
       {"Fr&eacute;chet distance", "Speckle", "At 2 scales", "47 &plusmn; 4 %", "held-out covers", "corners' power"})
    CHECK(html.find(s) != std::string::npos);
  // --no-ema samples from G itself; --msssim-scales 5 shows no second column.
  o.ema = false, o.msssim_scales = "5", o.out = dir / "report2", o.classifier = dir / "report/classifier";
  const nlohmann::json r2 = run_eval(o);
  CHECK(r2["checkpoint"]["generator"] == "G");
  CHECK(!r2["msssim"].contains("alt"));
  // --bn running samples the weight average as `covergan generate` does: other covers.
  o.ema = true, o.msssim_scales = "", o.out = dir / "report3", o.bn_running = true;
  const nlohmann::json r3 = run_eval(o);
  CHECK(r3["settings"]["batchnorm"].get<std::string>().find("running statistics") != std::string::npos);
  CHECK(r["settings"]["batchnorm"].get<std::string>().find("batch statistics") != std::string::npos);
  CHECK(r3["frechet"]["overall"]["fid"]["value"] != r["frechet"]["overall"]["fid"]["value"]);
  o.bn_running = false;
  o.msssim_scales = "7";
  CHECK_THROWS_WITH_AS(run_eval(o), doctest::Contains("--msssim-scales takes a number from 1 to 5"), Error);
}

TEST_CASE("eval --all-checkpoints summarises every checkpoint and names the best by the chosen metric") {
  cgtest::TempDir dir;
  const std::vector<std::string> genres{"a", "b"};
  const std::string data = dir / "labeled.cgd";
  write_stripes(data, 16, 16, genres);
  write_run(dir / "run", data, genres, {10, 20, 30});
  EvalOptions o;
  o.ckpt = dir / "run", o.data = data, o.out = dir / "all";
  o.pairs = 10, o.generated = 16, o.folds = 2, o.classifier_epochs = 1, o.bootstrap = 2, o.quiet = true;
  const nlohmann::json r = run_eval_all(o, "recall");
  REQUIRE(r["checkpoints"].size() == 3);
  std::vector<double> recall;
  for (const auto& c : r["checkpoints"]) recall.push_back(c["recall"].get<double>());
  const size_t best = size_t(std::max_element(recall.rbegin(), recall.rend()) - recall.rbegin());
  CHECK(r["best"]["step"] == r["checkpoints"][2 - best]["step"]);  // the highest recall, ties to the later
  CHECK(r["best"]["by"] == "recall");
  CHECK(r["best"]["lowest_step"] == r["best"]["step"]);  // --best-within 0: the best itself
  CHECK(r["best"]["within_percent"] == 0.0);
  CHECK(read(dir / "all/report.json")["best"]["path"] == r["best"]["path"]);
  for (const auto& im : r["images"]) CHECK(std::filesystem::file_size(dir / ("all/" + im.get<std::string>())) > 100);
  // One baseline for all: the later checkpoints reuse the first one's classifier.
  CHECK(read(dir / "all/step_00000030/report.json")["baseline"]["source"] ==
        std::string(dir / "all/step_00000010/classifier"));
  // The summary's numbers come from the checkpoint's report; lower cost is better.
  const nlohmann::json s = checkpoint_summary(read(dir / "all/step_00000020/report.json"));
  CHECK(s["fid"].get<double>() == read(dir / "all/step_00000020/report.json")["frechet"]["overall"]["fid"]["value"].get<double>());
  CHECK(best_by_cost(s, "recall") == -s["recall"].get<double>());
  CHECK_THROWS_AS(run_eval_all(o, "beauty"), Error);
}

TEST_CASE("--best-within keeps the latest checkpoint within that share of the best and never a NaN") {
  const double nan = std::nan("");
  // Frechet distances as in DEMO.md's run: step 2000 the lowest by 0.5 %, step 3000 kept at 2 %.
  const std::vector<double> fid{6.0139, 1.8901, 1.2983, 1.2760, 1.3073, 1.2816};
  CHECK(choose_checkpoint(fid, 0) == 3);
  CHECK(choose_checkpoint(fid, 0.4) == 3);   // 1.2816 is 0.44 % above 1.2760
  CHECK(choose_checkpoint(fid, 0.5) == 5);
  CHECK(choose_checkpoint(fid, 2) == 5);
  CHECK(choose_checkpoint(fid, 50) == 5);    // 1.2983 and 1.3073 also qualify; the latest wins
  CHECK(choose_checkpoint({1.0, 1.0, 1.0}, 0) == 2);  // ties: the later
  // Negative costs (higher-is-better metrics negated): within of the magnitude.
  const std::vector<double> neg_recall{-0.50, -0.60, -0.59, -0.40};
  CHECK(choose_checkpoint(neg_recall, 0) == 1);
  CHECK(choose_checkpoint(neg_recall, 2) == 2);    // -0.59 <= -0.60 + 0.012
  CHECK(choose_checkpoint(neg_recall, 1) == 1);    // -0.59 > -0.60 + 0.006
  CHECK(choose_checkpoint({nan, 2.0, nan}, 100) == 1);  // a NaN never wins
  CHECK(choose_checkpoint({nan, nan}, 0) == 1);         // all NaN: the last
}

TEST_CASE("eval --best-within without --all-checkpoints or outside 0-100 is refused in one sentence") {
  const auto alone = hardtest::run_cli("eval --ckpt x --data y -o z --best-within 2");
  CHECK(alone.exit_code != 0);
  CHECK(alone.output.find("--best-within picks among the checkpoints --all-checkpoints evaluates") != std::string::npos);
  const auto neg = hardtest::run_cli("eval --ckpt x --data y -o z --all-checkpoints --best-within -1");
  CHECK(neg.exit_code != 0);
  CHECK(neg.output.find("--best-within") != std::string::npos);
}
