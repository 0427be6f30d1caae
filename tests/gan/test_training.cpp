// Training runs on the CPU through gan::train: exact resume (2N iterations in one
// go equal N, a checkpoint, then N more, in every loss and every stored tensor,
// across the pretrain/fine-tune boundary too), and a smoke test that a tiny model
// learns to tell two visually distinct genres apart.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/dataset.h"
#include "data/loader.h"
#include "gan/acgan.h"
#include "gan/checkpoint.h"
#include "gan/trainer.h"
#include "gan_util.h"
#include "layers/losses.h"
#include "support/check.h"

using namespace cg;
using namespace cg::gan;
using gantest::train_for;

namespace {

// Rows of metrics.csv: the step and the ten loss terms, as written (exact: %.9g of floats).
std::vector<std::string> loss_rows(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::vector<std::string> rows;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string cell, row;
    for (int i = 0; i < 13 && std::getline(ss, cell, ','); ++i) row += cell + ",";
    rows.push_back(row);
  }
  return rows;
}

TrainConfig tiny_config(const std::string& data, const std::string& pretrain) {
  TrainConfig c;
  c.data = data;
  c.pretrain = pretrain;
  c.pretrain_epochs = pretrain.empty() ? 0 : 1;
  c.epochs = 100;
  c.batch = 8;
  c.seed = 5;
  c.device = "cpu";
  c.model.base_channels = 4;
  c.hflip = true;
  c.sample_every = 4;
  c.checkpoint_every = 3;
  c.keep_checkpoints = 2;
  c.sample_cols = 2;
  c.lr_finetune = {2e-4, 2e-4};
  return c;
}

void check_same_checkpoint(const std::string& a, const std::string& b) {
  const SafeTensors x = load_safetensors(a), y = load_safetensors(b);
  REQUIRE(x.tensors.size() == y.tensors.size());
  for (const auto& [name, t] : x.tensors) {
    INFO(name);
    REQUIRE(y.tensors.count(name));
    CHECK_CLOSE_T(t, y.tensors.at(name), 0, 0);  // bit for bit
  }
  for (const char* k : {"step", "phase", "epoch", "batch_in_epoch", "rng_offset", "adam_G_steps", "adam_D_steps"}) {
    INFO(k);
    CHECK(x.metadata.at(k) == y.metadata.at(k));
  }
}

}  // namespace

TEST_CASE("the D step records no generator op: G's gradients stay zero while D's fill in") {
  // G runs without a tape in the D step (its output is detached): recorded there, G
  // would only cost time, since D's loss would backpropagate into G's gradient buffer.
  ModelConfig m;
  m.image_size = 16;
  m.base_channels = 4;
  m.num_genres = 2;
  m.z_dim = 12;
  Generator G(m, Device::cpu);
  Discriminator D(m, Device::cpu);
  Philox init(1);
  G.init(init);
  D.init(init);
  const int64_t B = 4;
  Philox rng(2);
  StepBatch b;
  b.real = Tensor::empty(Shape{B, 3, 16, 16});
  rng.uniform(b.real, -1.0, 1.0);
  b.real_labels = Tensor::from_labels({0, 1, 1, 0});
  draw_latents(rng, m, B, Device::cpu, DType::f32, b);
  G.params().set_requires_grad(true);
  G.params().zero_grad();
  StepStats st;
  d_backward(G, D, b, LossConfig{true, 1.0}, st);
  auto max_abs = [](const Tensor& t) {
    double mx = 0;
    for (double v : t.to_vector()) mx = std::max(mx, std::fabs(v));
    return mx;
  };
  CHECK(max_abs(G.params().flat_grad()) == 0.0);
  CHECK(max_abs(D.params().flat_grad()) > 0.0);
}

TEST_CASE("training with dropout in D runs, changes the losses, and resumes exactly") {
  gantest::Scratch dir("dropout");
  gantest::write_striped_dataset(dir / "labeled.cgd", 44, 16, {"red", "blue"}, 1);
  TrainConfig cfg = tiny_config(dir / "labeled.cgd", "");
  const auto plain = (train_for(cfg, dir / "plain", 6, false), loss_rows(dir / "plain/metrics.csv"));
  cfg.model.d_dropout = 0.3;
  const TrainResult whole = train_for(cfg, dir / "whole", 6, false);
  REQUIRE(whole.steps == 6);
  const auto ref = loss_rows(dir / "whole/metrics.csv");
  REQUIRE(ref.size() == 6);
  CHECK(ref != plain);  // the masks reached D
  // 3 steps, a checkpoint, 3 more: the masks of steps 4-6 are drawn again exactly.
  REQUIRE(train_for(cfg, dir / "split", 3, false).steps == 3);
  const TrainResult second = train_for(cfg, dir / "split", 6, true);
  CHECK(second.steps == 6);
  CHECK(loss_rows(dir / "split/metrics.csv") == ref);
  check_same_checkpoint(whole.last_checkpoint, second.last_checkpoint);
}

TEST_CASE("resume continues exactly: N + N iterations equal 2N, across the phase switch and mid-epoch") {
  gantest::Scratch dir("resume");
  gantest::write_striped_dataset(dir / "labeled.cgd", 44, 16, {"red", "blue"}, 1);  // 5 batches an epoch
  gantest::write_striped_dataset(dir / "unlabeled.cgd", 56, 16, {}, 2);             // 7 batches: pretraining
  const TrainConfig cfg = tiny_config(dir / "labeled.cgd", dir / "unlabeled.cgd");
  const int64_t total = 16;
  const TrainResult whole = train_for(cfg, dir / "whole", total, false);
  REQUIRE(whole.steps == total);
  const auto ref = loss_rows(dir / "whole/metrics.csv");
  REQUIRE(ref.size() == size_t(total));
  // 5: mid-pretraining, the resumed part switches phase; 7: exactly at the switch; 12: mid-epoch.
  for (int64_t split : {5, 7, 12}) {
    CAPTURE(split);
    const std::string out = dir / ("split" + std::to_string(split));
    REQUIRE(train_for(cfg, out, split, false).steps == split);
    const TrainResult second = train_for(cfg, out, total, true);
    CHECK(second.steps == total);
    CHECK(second.steps_this_run == total - split);
    CHECK(loss_rows(out + "/metrics.csv") == ref);
    check_same_checkpoint(whole.last_checkpoint, second.last_checkpoint);
  }
  // Only the newest keep_checkpoints rotate; the pretrained weights stay.
  {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir / "whole/checkpoints"))
      n += e.path().filename().string().rfind("step_", 0) == 0;
    CHECK(n == 2);
    CHECK(std::filesystem::exists(dir / "whole/checkpoints/pretrained.safetensors"));
  }
}

TEST_CASE("sample grids leave the generator alone: --sample-every 4 and 0 give bit-identical checkpoints") {
  // write_samples runs G with batch statistics: in training mode it would also move G's
  // BatchNorm running statistics, and the checkpoint would depend on the sample schedule.
  gantest::Scratch dir("samples");
  gantest::write_striped_dataset(dir / "labeled.cgd", 44, 16, {"red", "blue"}, 1);
  TrainConfig cfg = tiny_config(dir / "labeled.cgd", "");
  cfg.checkpoint_every = 8;
  cfg.sample_every = 4;
  const TrainResult with = train_for(cfg, dir / "with", 8, false);
  cfg.sample_every = 0;
  const TrainResult without = train_for(cfg, dir / "without", 8, false);
  REQUIRE(std::filesystem::exists(dir / "with/samples/step_000004.png"));
  REQUIRE_FALSE(std::filesystem::exists(dir / "without/samples/step_000004.png"));
  check_same_checkpoint(with.last_checkpoint, without.last_checkpoint);
  // The comparison covers G's running statistics, and they did move in training.
  const SafeTensors ck = load_safetensors(with.last_checkpoint);
  int stats = 0;
  for (const auto& [name, t] : ck.tensors)
    if (name.rfind("G.", 0) == 0 && name.find("running_") != std::string::npos) {
      ++stats;
      const double fresh = name.find("running_var") != std::string::npos ? 1.0 : 0.0;
      double moved = 0;
      for (double v : t.to_vector()) moved = std::max(moved, std::fabs(v - fresh));
      INFO(name);
      CHECK(moved > 0);
    }
  CHECK(stats >= 4);
}

TEST_CASE("smoke: a tiny model learns to tell two distinct genres apart on held-out images (slow)") {
  gantest::Scratch dir("smoke");
  gantest::write_striped_dataset(dir / "train.cgd", 512, 16, {"red", "blue"}, 3);
  gantest::write_striped_dataset(dir / "heldout.cgd", 128, 16, {"red", "blue"}, 4);
  TrainConfig c = tiny_config(dir / "train.cgd", "");
  c.model.base_channels = 8;
  c.batch = 32;
  c.hflip = false;
  c.sample_every = 50;
  c.checkpoint_every = 50;
  c.lr_finetune = {2e-4, 2e-4};
  const TrainResult r = train_for(c, dir / "run", 100, false);
  REQUIRE(r.steps == 100);
  // Every loss term finite in every row.
  std::ifstream in(dir / "run/metrics.csv");
  std::string line;
  std::getline(in, line);
  int rows = 0;
  while (std::getline(in, line)) {
    ++rows;
    REQUIRE_MESSAGE(line.find("nan") == std::string::npos, line);
    REQUIRE_MESSAGE(line.find("inf") == std::string::npos, line);
  }
  CHECK(rows == 100);
  for (const char* f : {"samples/step_000050.png", "samples/step_000100.png", "loss.png", "config.json",
                        "checkpoints/step_00000100.safetensors"})
    CHECK_MESSAGE(std::filesystem::exists(dir / ("run/" + std::string(f))), f);
  // D's genre head on held-out real images: chance is 50%.
  const Checkpoint ck = Checkpoint::load(r.last_checkpoint);
  Discriminator D(ck.config().model, Device::cpu);
  ck.restore(D);
  const data::Dataset held = data::Dataset::open(dir / "heldout.cgd");
  data::Loader loader(held, {64, 9, Device::cpu, false});
  double acc = 0;
  for (int b = 0; b < 2; ++b) {
    Tensor x, y;
    loader.next(x, y);
    acc += 0.5 * accuracy(D.forward(nullptr, x, BnMode::batch).cls, y);  // as D sees a real batch
  }
  MESSAGE("D's genre accuracy on held-out real images: " << acc);
  CHECK(acc >= 0.85);
}
