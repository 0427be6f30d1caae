// train --g-deconv resize: after training from the paper's draws (not a resize start),
// every transposed convolution of G and of its weight average is a resize-convolution
// (layers/conv_transpose2d.h's project_resize_conv), while "free" leaves them unconstrained;
// config.json records the choice, a resume cannot change it, and a bad value is one sentence.
// (Partial strengths: tests/layers/test_resize_conv.cpp.)
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>

#include "gan/checkpoint.h"
#include "gan/generator.h"
#include "gan/trainer.h"
#include "gan_util.h"
#include "support/check.h"
#include "support/resize_conv.h"

using namespace cg;
using namespace cg::gan;

namespace {

// Largest resize_conv_residual over G's transposed convolutions, each relative to its
// largest weight: 0 for resize-convolutions.
double worst_residual(Generator& G) {
  double worst = 0;
  for (int l = 1; l <= G.config().n_layers(); ++l) {
    const std::vector<double> w = G.params().find("G.deconv" + std::to_string(l) + ".weight").to_vector();
    double scale = 0;
    for (double x : w) scale = std::max(scale, std::abs(x));
    worst = std::max(worst, cgtest::resize_conv_residual(w) / scale);
  }
  return worst;
}

TrainConfig config(const std::string& data, const std::string& deconv) {
  TrainConfig c;
  c.data = data;
  c.epochs = 100, c.steps = 4, c.batch = 8, c.seed = 5, c.device = "cpu";
  c.model.base_channels = 4;
  c.sample_every = 0, c.checkpoint_every = 4, c.sample_cols = 2;
  c.ema = 0.9;
  c.g_deconv = deconv;
  return c;
}

}  // namespace

TEST_CASE("--g-deconv resize keeps G's transposed convolutions resize-convolutions through training") {
  gantest::Scratch dir("resize_deconv");
  const std::string data = dir / "labeled.cgd";
  gantest::write_striped_dataset(data, 32, 16, {"red", "blue"}, 1);
  double residual[2] = {0, 0}, ema_residual[2] = {0, 0};
  for (int arm = 0; arm < 2; ++arm) {
    const std::string deconv = arm ? "resize" : "free", out = dir / deconv;
    TrainOptions o;
    o.out = out, o.quiet = true, o.handle_signals = false;
    const TrainResult r = train(config(data, deconv), o);
    const Checkpoint ck = Checkpoint::load(r.last_checkpoint);
    CHECK(ck.config().g_deconv == deconv);
    std::ifstream f(out + "/config.json");
    CHECK(nlohmann::json::parse(f)["g_deconv"] == deconv);
    Generator G(ck.config().model, Device::cpu), avg(ck.config().model, Device::cpu);
    ck.restore(G);
    ck.restore_ema(avg);
    residual[arm] = worst_residual(G), ema_residual[arm] = worst_residual(avg);
  }
  CHECK(residual[0] > 0.05);  // the paper's draws, trained freely
  CHECK(ema_residual[0] > 0.05);
  CHECK(residual[1] < 1e-6);  // f32 rounding of the projection's sums
  CHECK(ema_residual[1] < 1e-6);
  // A resume keeps the choice; a bad value is refused in one sentence.
  TrainConfig saved = config(data, "resize");
  CHECK_THROWS_WITH_AS(resume_config(saved, {{"g_deconv", "free"}}), doctest::Contains("\"g_deconv\" was \"resize\""),
                       cg::Error);
  saved.genres = {"a", "b", "c", "d", "e"}, saved.g_deconv = "bilinear";
  CHECK_THROWS_WITH_AS(saved.validate(), doctest::Contains("g_deconv must be free or resize"), cg::Error);
  saved.g_deconv = "free", saved.g_deconv_strength = 0.1;
  CHECK_THROWS_WITH_AS(saved.validate(), doctest::Contains("needs g_deconv resize"), cg::Error);
  saved.g_deconv = "resize", saved.g_deconv_strength = 0;
  CHECK_THROWS_WITH_AS(saved.validate(), doctest::Contains("g_deconv_strength must be in (0, 1]"), cg::Error);
}
