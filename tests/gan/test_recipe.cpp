// A run's holdout and the small-set recipe, through gan::train: holdout.json names the
// covers data/holdout.h holds out (the same for every --seed), a resume keeps them and
// refuses a set that no longer gives them; with EMA, DiffAugment, label smoothing and
// instance noise on, N + N iterations still equal 2N bit for bit (the weight average
// included); a checkpoint from before these settings reads as no holdout and no average;
// --g-init icnr starts G's transposed convolutions without a checkerboard.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "data/dataset.h"
#include "data/holdout.h"
#include "engine/safetensors.h"
#include "gan/checkpoint.h"
#include "gan/generator.h"
#include "gan/holdout_file.h"
#include "gan/trainer.h"
#include "gan_util.h"
#include "layers/conv_transpose2d.h"
#include "support/check.h"

using namespace cg;
using namespace cg::gan;
using gantest::train_for;

namespace {

TrainConfig recipe_config(const std::string& data) {
  TrainConfig c;
  c.data = data;
  c.epochs = 100, c.batch = 8, c.seed = 5, c.device = "cpu";
  c.model.base_channels = 4;
  c.sample_every = 0, c.checkpoint_every = 3, c.keep_checkpoints = 2, c.sample_cols = 2;
  c.lr_finetune = {2e-4, 2e-4};
  c.holdout = 0.25;
  c.ema = 0.9;
  c.augment = "color,translation,cutout";
  c.real_label = 0.9;
  c.instance_noise = 0.1, c.instance_noise_steps = 6;
  c.g_genre_weight = 0.5, c.d_fake_genre_weight = 0.25;
  c.g_init = "icnr";
  return c;
}

nlohmann::json read(const std::string& p) {
  std::ifstream f(p);
  return nlohmann::json::parse(f);
}

}  // namespace

TEST_CASE("a run records its holdout, keeps it across seeds and resumes, and refuses a changed set") {
  gantest::Scratch dir("holdout_run");
  const std::string data = dir / "labeled.cgd";
  gantest::write_striped_dataset(data, 48, 16, {"red", "blue"}, 1);
  TrainConfig c = recipe_config(data);
  train_for(c, dir / "a", 3, false);
  const nlohmann::json h = read(dir / "a/holdout.json");
  const data::Dataset ds = data::Dataset::open(data);
  const data::HoldoutSplit split = data::holdout_split(ds, 0.25, 0);
  std::vector<std::string> want;
  for (uint64_t x : split.held_out_hashes) want.push_back(hash_hex(x));
  CHECK(h["pixel_hashes"] == want);
  CHECK(h["held_out"] == 12);  // 6 of each genre's 24
  CHECK(h["held_out_per_genre"]["red"] == 6);
  CHECK(read(dir / "a/config.json")["holdout"] == 0.25);
  // Another training seed holds out the same covers; another holdout seed others.
  c.seed = 6;
  train_for(c, dir / "b", 1, false);
  CHECK(read(dir / "b/holdout.json")["pixel_hashes"] == want);
  c.holdout_seed = 3;
  train_for(c, dir / "c", 1, false);
  CHECK(read(dir / "c/holdout.json")["pixel_hashes"] != want);
  // A resume recomputes the same split and carries on.
  CHECK(train_for(c, dir / "a", 6, true).steps == 6);
  CHECK(read(dir / "a/holdout.json")["pixel_hashes"] == want);
  // The set changed under the run: the resume is refused before any step (the recorded
  // training-file identity catches it before the holdout comparison would).
  gantest::write_striped_dataset(data, 48, 16, {"red", "blue"}, 2);
  CHECK_THROWS_WITH_AS(train_for(c, dir / "a", 9, true), doctest::Contains("is not the file this run trained on"),
                       Error);
  // Too large a holdout for the batch is one sentence too.
  TrainConfig big = recipe_config(data);
  big.holdout = 0.9;
  CHECK_THROWS_WITH_AS(train_for(big, dir / "d", 1, false), doctest::Contains("fewer than one batch"), Error);
}

TEST_CASE("with the whole recipe on, N + N iterations equal 2N and the checkpoint holds G's weight average") {
  gantest::Scratch dir("recipe_resume");
  const std::string data = dir / "labeled.cgd";
  gantest::write_striped_dataset(data, 48, 16, {"red", "blue"}, 1);
  const TrainConfig c = recipe_config(data);
  const TrainResult whole = train_for(c, dir / "whole", 8, false);
  train_for(c, dir / "split", 4, false);
  const TrainResult second = train_for(c, dir / "split", 8, true);
  gantest::check_same_checkpoint(whole.last_checkpoint, second.last_checkpoint);
  const SafeTensors x = load_safetensors(whole.last_checkpoint);
  const Checkpoint ck = Checkpoint::load(whole.last_checkpoint);
  REQUIRE(ck.has_ema());
  Generator G(ck.config().model, Device::cpu), E(ck.config().model, Device::cpu);
  ck.restore(G);
  ck.restore_for_sampling(E);
  CHECK(x.tensors.count("G_ema.fc.weight") == 1);
  CHECK_CLOSE_T(E.params().find("G.fc.weight"), x.tensors.at("G_ema.fc.weight"), 0, 0);
  CHECK_CLOSE_T(G.params().find("G.fc.weight"), x.tensors.at("G.fc.weight"), 0, 0);
  // The average trails the weights: after 8 updates it differs from G, and from G's start.
  const auto cmp = cgtest::compare(E.params().flat(), G.params().flat(), 0, 0);
  CHECK_FALSE(cmp.ok);
  ck.restore_for_sampling(E, /*use_ema=*/false);
  CHECK_CLOSE_T(E.params().flat(), G.params().flat(), 0, 0);
}

TEST_CASE("a checkpoint written before the holdout and the recipe reads as neither") {
  gantest::Scratch dir("legacy");
  const std::string data = dir / "labeled.cgd";
  gantest::write_striped_dataset(data, 48, 16, {"red", "blue"}, 1);
  TrainConfig c = recipe_config(data);
  c.genres = {"red", "blue"};
  c.model.num_genres = 2, c.model.image_size = 16;
  Generator G(c.model, Device::cpu);
  Philox rng(1);
  G.init(rng);
  save_checkpoint(dir / "ck.safetensors", c, G, nullptr, nullptr, nullptr, TrainState{});
  // Rewrite its config without the new keys, as an older covergan wrote it.
  SafeTensors st = load_safetensors(dir / "ck.safetensors");
  nlohmann::json cj = nlohmann::json::parse(st.metadata.at("config"));
  for (const char* k : {"holdout", "holdout_seed", "ema", "augment", "real_label", "instance_noise",
                        "instance_noise_steps", "g_genre_weight", "d_fake_genre_weight", "g_init", "standing_stats"})
    cj.erase(k);
  st.metadata["config"] = cj.dump();
  std::vector<std::pair<std::string, Tensor>> ts(st.tensors.begin(), st.tensors.end());
  save_safetensors(dir / "old.safetensors", ts, st.metadata);
  const Checkpoint old = Checkpoint::load(dir / "old.safetensors");
  CHECK(old.config().holdout == 0);
  CHECK(old.config().ema == 0);
  CHECK(old.config().augment.empty());
  CHECK(old.config().g_genre_weight == 1);
  CHECK(old.config().d_fake_genre_weight == 1);
  CHECK(old.config().g_init == "normal");
  CHECK(old.config().standing_stats == 0);  // it kept the average of G's statistics
  CHECK_FALSE(old.has_ema());
  CHECK(Checkpoint::load(dir / "ck.safetensors").config().holdout == 0.25);
}

TEST_CASE("the learning rates fall linearly to 0 between two iterations, and a resume follows the schedule") {
  TrainConfig f;
  f.lr_decay_from = 2, f.lr_decay_to = 6;
  CHECK(lr_decay_factor(f, 0) == 1.0);
  CHECK(lr_decay_factor(f, 2) == 1.0);
  CHECK(lr_decay_factor(f, 3) == 0.75);
  CHECK(lr_decay_factor(f, 5) == 0.25);
  CHECK(lr_decay_factor(f, 6) == 0.0);
  CHECK(lr_decay_factor(TrainConfig{}, 1000) == 1.0);  // no decay set

  gantest::Scratch dir("lr_decay");
  const std::string data = dir / "labeled.cgd";
  gantest::write_striped_dataset(data, 48, 16, {"red", "blue"}, 1);
  TrainConfig c = recipe_config(data);
  c.augment.clear(), c.instance_noise = 0;  // the queued iteration, as the demo's recipe runs
  TrainConfig plain = c;
  c.lr_decay_from = 2, c.lr_decay_to = 6;
  const auto same = [](const std::string& a, const std::string& b) {
    const SafeTensors x = load_safetensors(a), y = load_safetensors(b);
    for (const auto& [name, t] : x.tensors)
      if (!cgtest::compare(t, y.tensors.at(name), 0, 0).ok) return false;
    return true;
  };
  // Iterations 0..2 run at the full rates, the fourth (factor 0.75) no longer does.
  CHECK(same(train_for(c, dir / "d3", 3, false).last_checkpoint,
             train_for(plain, dir / "p3", 3, false).last_checkpoint));
  CHECK_FALSE(same(train_for(c, dir / "d4", 4, false).last_checkpoint,
                   train_for(plain, dir / "p4", 4, false).last_checkpoint));
  // 3 + 3 equals 6 bit for bit: the schedule's end is in the run's settings, not --steps.
  const TrainResult whole = train_for(c, dir / "whole", 6, false);
  train_for(c, dir / "split", 3, false);
  CHECK(same(whole.last_checkpoint, train_for(c, dir / "split", 6, true).last_checkpoint));
  CHECK(read(dir / "whole/config.json")["lr_decay_from"] == 2);
  CHECK(read(dir / "whole/config.json")["lr_decay_to"] == 6);
  // Past the end the rates would be 0: refused in one sentence, as is a backwards schedule.
  CHECK_THROWS_WITH_AS(train_for(c, dir / "split", 7, true), doctest::Contains("reach 0 at iteration 6"), Error);
  TrainConfig back = c;
  back.lr_decay_from = 6, back.lr_decay_to = 2;
  CHECK_THROWS_WITH_AS(train_for(back, dir / "back", 2, false), doctest::Contains("to a later one"), Error);
}

namespace {
// Largest |difference| between the four output phases of every 2x2 cell of out (N,C,H,W)
// away from the border, divided by the largest |value| there.
double phase_spread(const Tensor& out) {
  const float* v = out.data<float>();
  const int64_t N = out.dim(0) * out.dim(1), H = out.dim(2), W = out.dim(3);
  double spread = 0, scale = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 2; i + 3 < H; i += 2)
      for (int64_t j = 2; j + 3 < W; j += 2) {
        const float* p = v + (n * H + i) * W + j;
        const float q[4] = {p[0], p[1], p[W], p[W + 1]};
        for (float x : q) {
          spread = std::max(spread, double(std::abs(x - q[0])));
          scale = std::max(scale, double(std::abs(x)));
        }
      }
  return spread / scale;
}
}  // namespace

TEST_CASE("--g-init icnr: every transposed convolution starts without a checkerboard, from the paper's draws") {
  ModelConfig m;
  m.image_size = 32, m.base_channels = 8;
  Generator plain(m, Device::cpu), tied(m, Device::cpu);
  Philox r1(7), r2(7);
  plain.init(r1);
  tied.init(r2, /*icnr=*/true);
  CHECK(plain.params().find("G.fc.weight").to_vector() == tied.params().find("G.fc.weight").to_vector());
  for (int l = 1; l <= m.n_layers(); ++l) {
    CAPTURE(l);
    const std::string name = "G.deconv" + std::to_string(l) + ".weight";
    const Tensor wp = plain.params().find(name), wt = tied.params().find(name);
    const auto a = wp.to_vector(), b = wt.to_vector();
    // Taps (0..1, 0..1) are the paper's draws; the others copies of them, mirrored.
    const int tie[4] = {0, 1, 1, 0};
    bool drawn_kept = true, mirrored = true;
    for (size_t k = 0; k < a.size() / 16; ++k)
      for (int kh = 0; kh < 4; ++kh)
        for (int kw = 0; kw < 4; ++kw) {
          const size_t at = k * 16 + kh * 4 + kw, from = k * 16 + tie[kh] * 4 + tie[kw];
          if (kh < 2 && kw < 2) drawn_kept = drawn_kept && b[at] == a[at];
          mirrored = mirrored && b[at] == b[from];
        }
    CHECK(drawn_kept);
    CHECK(mirrored);
    // A constant input map: with the paper's initialisation the four output phases differ
    // (the checkerboard), with icnr they are equal away from the border.
    Shape in{2, wp.dim(0), 8, 8};
    const Tensor x = Tensor::full(in, 0.5);
    const double spread_plain = phase_spread(conv_transpose2d(nullptr, x, wp, Tensor(), 2, 1));
    const double spread_tied = phase_spread(conv_transpose2d(nullptr, x, wt, Tensor(), 2, 1));
    CHECK(spread_plain > 0.1);
    CHECK(spread_tied < 1e-5);
  }
  // In double precision (train --dtype f64) the same ties.
  Generator wide(m, Device::cpu, DType::f64);
  Philox r3(7);
  wide.init(r3, /*icnr=*/true);
  const auto w64 = wide.params().find("G.deconv1.weight").to_vector();
  CHECK(w64[0 * 4 + 3] == w64[0 * 4 + 0]);
  CHECK(w64[3 * 4 + 2] == w64[0 * 4 + 1]);
  CHECK(w64[2 * 4 + 2] == w64[1 * 4 + 1]);
  // A resumed run keeps its start: the setting cannot change.
  TrainConfig saved;
  saved.g_init = "icnr";
  CHECK_THROWS_WITH_AS(resume_config(saved, {{"g_init", "normal"}}), doctest::Contains("\"g_init\" was \"icnr\""),
                       cg::Error);
  saved.data = "covers.cgd", saved.genres = {"a", "b", "c", "d", "e"}, saved.g_init = "sideways";
  CHECK_THROWS_WITH_AS(saved.validate(), doctest::Contains("g_init must be normal or icnr"), cg::Error);
}
