// Standing statistics (gan/standing_stats.h): measured batch-norm statistics make the
// running-statistics covers (what `covergan generate` draws) match the batch-statistics
// ones (what training and eval see), replace what was there, leave the weights alone, and
// in training change nothing but the weight average's batch-norm buffers.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "engine/safetensors.h"
#include "gan/checkpoint.h"
#include "gan/generator.h"
#include "gan/sampler.h"
#include "gan/standing_stats.h"
#include "gan/trainer.h"
#include "gan_util.h"
#include "support/check.h"

using namespace cg;
using namespace cg::gan;

namespace {

ModelConfig small() {
  ModelConfig m;
  m.image_size = 16, m.base_channels = 4, m.num_genres = 3;
  return m;
}

// The latents measure_standing_stats draws for its first pass of `batch` covers from `seed`.
Latents first_pass(const ModelConfig& m, int batch, uint64_t seed) {
  std::vector<int32_t> genres;
  for (int i = 0; i < batch; ++i) genres.push_back(int32_t(i % m.num_genres));
  Philox rng(seed);
  return draw_latents_for(m, genres, rng);
}

double mean_abs_diff(const Tensor& a, const Tensor& b) {
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += std::fabs(double(a.data<float>()[i]) - b.data<float>()[i]);
  return s / double(a.numel());
}

}  // namespace

TEST_CASE("standing statistics: after one pass, running-statistics covers of that batch equal its batch-statistics covers") {
  const ModelConfig m = small();
  Generator G(m, Device::cpu);
  Philox init(3);
  G.init(init);
  const Latents l = first_pass(m, 256, 77);
  // Fresh running statistics (mean 0, variance 1) are nothing like the batch's.
  const double before = cgtest::compare(generate(G, l, BnMode::eval), generate(G, l, BnMode::batch), 0, 0).max_abs;
  const Tensor weights = G.params().flat().clone();
  measure_standing_stats(G, 1, 256, 77);
  const double after = cgtest::compare(generate(G, l, BnMode::eval), generate(G, l, BnMode::batch), 0, 0).max_abs;
  INFO("largest difference, eval against batch mode: before ", before, ", after ", after);
  CHECK(before > 0.1);
  CHECK(after < 0.02);  // not 0: the running variance is unbiased (x 256/255), the batch's biased
  CHECK(G.bn_momentum() == m.bn_momentum);
  CHECK_CLOSE_T(G.params().flat(), weights, 0, 0);  // the weights did not move
}

TEST_CASE("standing statistics replace the running statistics: the result does not depend on what was there") {
  const ModelConfig m = small();
  Generator G(m, Device::cpu);
  Philox init(4);
  G.init(init);
  measure_standing_stats(G, 5, 32, 9);
  const Tensor first = G.params().flat_buffers().clone();
  // Garbage in every running statistic, then the same measurement again.
  for (Tensor b : G.params().buffers())
    for (int64_t i = 0; i < b.numel(); ++i) b.data<float>()[i] = 3.0f + float(i % 7);
  measure_standing_stats(G, 5, 32, 9);
  CHECK_CLOSE_T(G.params().flat_buffers(), first, 0, 0);
  // Another seed measures other covers: other statistics.
  measure_standing_stats(G, 5, 32, 10);
  CHECK_FALSE(cgtest::compare(G.params().flat_buffers(), first, 0, 0).ok);
  CHECK_THROWS_AS(measure_standing_stats(G, 0, 32, 9), cg::Error);
}

TEST_CASE("training with --ema measures G_ema's standing statistics at each checkpoint and changes nothing else") {
  gantest::Scratch dir("standing_stats");
  const std::string data = dir / "labeled.cgd";
  gantest::write_striped_dataset(data, 48, 16, {"red", "blue"}, 1);
  TrainConfig c;
  c.data = data;
  c.epochs = 100, c.steps = 6, c.batch = 8, c.seed = 5, c.device = "cpu";
  c.model.base_channels = 4;
  c.sample_every = 0, c.checkpoint_every = 3, c.sample_cols = 2;
  c.lr_finetune = {2e-4, 2e-4};
  c.ema = 0.9;
  TrainOptions o;
  o.quiet = true, o.handle_signals = false;
  c.standing_stats = 16;
  o.out = dir / "on";
  const TrainResult on = train(c, o);
  c.standing_stats = 0;
  o.out = dir / "off";
  const TrainResult off = train(c, o);
  const SafeTensors a = load_safetensors(on.last_checkpoint), b = load_safetensors(off.last_checkpoint);
  REQUIRE(a.tensors.size() == b.tensors.size());
  int moved = 0;
  for (const auto& [name, t] : a.tensors) {
    INFO(name);
    const bool ema_buffer = name.rfind("G_ema.", 0) == 0 && name.find("running_") != std::string::npos;
    if (ema_buffer) {
      moved += cgtest::compare(t, b.tensors.at(name), 0, 0).ok ? 0 : 1;
    } else {
      CHECK_CLOSE_T(t, b.tensors.at(name), 0, 0);  // training itself is the same to the bit
    }
  }
  CHECK(moved > 0);
  const Checkpoint ck_on = Checkpoint::load(on.last_checkpoint), ck_off = Checkpoint::load(off.last_checkpoint);
  CHECK(ck_on.config().standing_stats == 16);
  CHECK(ck_off.config().standing_stats == 0);
  TrainConfig no_average = ck_on.config();
  no_average.ema = 0, no_average.standing_stats = 4;
  CHECK_THROWS_WITH_AS(no_average.validate(), doctest::Contains("needs ema"), cg::Error);
  // What it is for: the average's covers drawn with running statistics (generate's default)
  // come out nearer the same covers drawn with batch statistics.
  Generator Ea(ck_on.config().model, Device::cpu), Eb(ck_off.config().model, Device::cpu);
  ck_on.restore_for_sampling(Ea);
  ck_off.restore_for_sampling(Eb);
  Philox rng(123);
  const Latents l = genre_rows(ck_on.config().model, 32, false, rng);
  const double with = mean_abs_diff(generate(Ea, l, BnMode::eval), generate(Ea, l, BnMode::batch));
  const double without = mean_abs_diff(generate(Eb, l, BnMode::eval), generate(Eb, l, BnMode::batch));
  INFO("mean difference, running against batch statistics: standing ", with, ", averaged ", without);
  CHECK(with < without);
}

