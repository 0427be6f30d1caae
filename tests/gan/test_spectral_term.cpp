// G's spectral term (train --g-spectral): the target is ln of the training covers' ring
// power per genre; the term adds to G's loss with its weight (gradients linear in it, D's
// untouched), is reported as g_spectral, records a spectral_loss op with a gradcheck
// entry, survives a resume bit for bit, and bad settings are one sentence.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/dataset.h"
#include "data/holdout.h"
#include "engine/safetensors.h"
#include "gan/config.h"
#include "gan/profile.h"
#include "gan/run_dir.h"
#include "gan/spectral_target.h"
#include "gan/trainer.h"
#include "gan_util.h"
#include "kernels/common/spectral.h"
#include "layers/gradcheck_ops.h"
#include "layers/spectral_loss.h"
#include "support/check.h"

using namespace cg;
using namespace cg::gan;
using gantest::train_for;

namespace {

ModelConfig tiny16() {
  ModelConfig m;
  m.image_size = 16, m.base_channels = 2, m.num_genres = 3, m.z_dim = 8;
  return m;
}

// G's and D's flat gradients after a D step and a G step of the rig's batch with lc.
std::pair<std::vector<double>, std::vector<double>> grads(IterationRig& rig, const LossConfig& lc, StepStats& st,
                                                          TapeGraph* g = nullptr) {
  d_backward(*rig.G, *rig.D, rig.b, lc, st);
  const std::vector<double> gd = rig.D->params().flat_grad().to_vector();
  g_backward(*rig.G, *rig.D, rig.b, lc, st, g);
  return {rig.G->params().flat_grad().to_vector(), gd};
}

TrainConfig small_run(const std::string& data) {
  TrainConfig c;
  c.data = data;
  c.epochs = 100, c.batch = 8, c.seed = 5, c.device = "cpu";
  c.model.base_channels = 4;
  c.sample_every = 0, c.checkpoint_every = 3, c.keep_checkpoints = 2, c.sample_cols = 2;
  c.holdout = 0.25, c.ema = 0.9;
  c.g_spectral = 2, c.g_spectral_from = 2;
  return c;
}

}  // namespace

TEST_CASE("the spectral term adds to G's loss with its weight, leaves D's alone, and has a gradcheck entry") {
  IterationRig rig(tiny16(), 4, Device::cpu);
  draw_latents(rig.rng, rig.cfg, 4, Device::cpu, DType::f32, rig.b);
  const int R = common::spectral_rings(16);
  std::vector<double> t;
  for (int i = 0; i < 3 * R; ++i) t.push_back(-6.0 + 0.1 * (i % 7));  // ln powers of fine detail
  const auto with = [&](double w) {
    LossConfig lc;
    lc.spectral_weight = w, lc.spectral_first_ring = 2, lc.spectral_target = Tensor::from(t, Shape{3, R});
    return lc;
  };
  StepStats s0, sh, s1;
  TapeGraph g1;
  const auto [g0, d0] = grads(rig, with(0), s0);
  const auto [gh, dh] = grads(rig, with(0.5), sh);
  const auto [gw, dw] = grads(rig, with(1), s1, &g1);
  CHECK(s0.g_spectral == 0);
  CHECK(s1.g_spectral > 0.01);
  CHECK(sh.g_spectral == doctest::Approx(s1.g_spectral).epsilon(1e-6));
  CHECK(s1.g_total == doctest::Approx(s1.g_src + s1.g_cls + s1.g_code + s1.g_spectral).epsilon(1e-5));
  CHECK(sh.g_total == doctest::Approx(sh.g_src + sh.g_cls + sh.g_code + 0.5 * sh.g_spectral).epsilon(1e-5));
  CHECK(d0 == dw);  // the D step has no spectral term
  double worst = 0, moved = 0;
  for (size_t i = 0; i < g0.size(); ++i) {
    worst = std::max(worst, std::abs(gh[i] - 0.5 * (g0[i] + gw[i])));
    moved = std::max(moved, std::abs(gw[i] - g0[i]));
  }
  CHECK(worst < 1e-5);
  CHECK(moved > 1e-4);
  size_t records = 0;
  for (const TapeGraph::Op& op : g1.ops) records += op.op == std::string("spectral_loss");
  CHECK(records == 1);
  bool listed = false;
  for (const OpGradcheck& e : gradcheck_ops()) listed |= e.op == std::string("spectral_loss");
  CHECK(listed);
  // Pretraining has no genres: no term even when weighted.
  LossConfig pre = with(1);
  pre.genre_terms = false;
  StepStats sp;
  grads(rig, pre, sp);
  CHECK(sp.g_spectral == 0);
}

TEST_CASE("spectral_target is ln(mean ring power + eps) of each genre's chosen covers, as the loader scales them") {
  gantest::Scratch dir("spectral_target");
  const std::string path = dir / "labeled.cgd";
  gantest::write_striped_dataset(path, 12, 16, {"red", "blue"}, 3);
  const data::Dataset ds = data::Dataset::open(path);
  const std::vector<int64_t> some{0, 2, 3, 5, 8, 11};
  const Tensor t = spectral_target(ds, some, kSpectralEps, DType::f64, Device::cpu);
  const int R = common::spectral_rings(16);
  REQUIRE(t.shape() == (Shape{2, R}));
  std::vector<double> want(size_t(2) * R, 0.0);
  std::vector<int> n(2, 0);
  for (int64_t i : some) {
    std::vector<double> px(3 * 256);
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < 256; ++p) px[size_t(c * 256 + p)] = ds.pixels(i)[p * 3 + c] / 127.5 - 1.0;
    const std::vector<double> ring = spectral_ring_power(Tensor::from(px, Shape{1, 3, 16, 16}, DType::f64)).to_vector();
    ++n[size_t(ds.label(i))];
    for (int r = 0; r < R; ++r) want[size_t(ds.label(i) * R + r)] += ring[size_t(r)];
  }
  for (int g = 0; g < 2; ++g)
    for (int r = 0; r < R; ++r) {
      double& w = want[size_t(g * R + r)];
      w = std::log(w / n[size_t(g)] + kSpectralEps);
    }
  CHECK_CLOSE_T(t.to_vector(), want, 1e-12, 1e-12);
  // The stripes differ by genre, and the covers left out change the target.
  CHECK(t.to_vector() != spectral_target(ds, {}, kSpectralEps, DType::f64, Device::cpu).to_vector());
}

TEST_CASE("a run with the spectral term reports g_spectral, records it, and N + N iterations equal 2N") {
  gantest::Scratch dir("spectral_run");
  const std::string data = dir / "labeled.cgd";
  gantest::write_striped_dataset(data, 48, 16, {"red", "blue"}, 1);
  const TrainConfig c = small_run(data);
  const TrainResult whole = train_for(c, dir / "whole", 6, false);
  train_for(c, dir / "split", 3, false);
  const TrainResult second = train_for(c, dir / "split", 6, true);
  gantest::check_same_checkpoint(whole.last_checkpoint, second.last_checkpoint);
  std::ifstream cfg(dir / "whole/config.json");
  const nlohmann::json j = nlohmann::json::parse(cfg);
  CHECK(j["g_spectral"] == 2);
  CHECK(j["g_spectral_from"] == 2);
  // metrics.csv's last column holds the term, > 0 on every row of this run.
  std::ifstream m(dir / "whole/metrics.csv");
  std::string header, row;
  std::getline(m, header);
  CHECK(header.substr(header.rfind(',') + 1) == "g_spectral");
  int rows = 0;
  while (std::getline(m, row)) {
    ++rows;
    CHECK(std::stod(row.substr(row.rfind(',') + 1)) > 0);
  }
  CHECK(rows >= 1);
}

TEST_CASE("spectral settings: config.json round trip and bad values in one sentence") {
  TrainConfig c;
  c.data = "x.cgd";
  c.genres = {"a", "b"};
  c.model.num_genres = 2, c.model.image_size = 32;
  c.g_spectral = 3, c.g_spectral_from = 8;
  CHECK_NOTHROW(c.validate());
  const TrainConfig back = train_config_from_json(to_json(c));
  CHECK(back.g_spectral == 3);
  CHECK(back.g_spectral_from == 8);
  CHECK(train_config_from_json(nlohmann::json::object()).g_spectral == 0);  // older runs: off
  c.g_spectral = -1;
  CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("g_spectral must be a weight in [0, 100]"), Error);
  c.g_spectral = 1, c.g_spectral_from = 24;  // 32 px: rings 0 .. 23
  CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("g_spectral_from must be a ring in [1, 23]"), Error);
}

TEST_CASE("a resume keeps the rows of a metrics.csv written before g_spectral, with 0 in its column") {
  gantest::Scratch dir("old_metrics");
  const std::string path = dir / "metrics.csv";
  {
    std::ofstream f(path);  // 19 columns, as builds before the term wrote them
    f << "step,phase,epoch,d_loss,d_src_real,d_src_fake,d_cls_real,d_cls_fake,d_code,g_loss,g_src,g_cls,g_code,"
         "d_x,d_g_z,acc_real,acc_fake,images_per_s,time_s\n";
    for (int s = 1; s <= 3; ++s) f << s << ",finetune,0,1,0.5,0.5,0.1,0.1,0,2,1,0.5,0,0.6,0.4,0.5,0.5,100.0,0.10\n";
  }
  {
    MetricsLog log(path, 2);
    StepStats st;
    st.g_spectral = 0.25;
    log.append(3, "finetune", 0, st, 100, 0.3);
    log.commit();
    CHECK(log.steps == std::vector<double>{1, 2, 3});
  }
  std::ifstream in(path);
  std::string line;
  std::vector<std::string> rows;
  while (std::getline(in, line)) rows.push_back(line);
  REQUIRE(rows.size() == 4);
  CHECK(rows[0] == MetricsLog::header());
  CHECK(rows[1].substr(rows[1].size() - 2) == ",0");
  CHECK(rows[3].substr(rows[3].rfind(',') + 1) == "0.25");
}
