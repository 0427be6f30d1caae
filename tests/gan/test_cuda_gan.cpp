// The AC-GAN on CUDA against the CPU reference: one full iteration from identical
// weights and inputs (every loss term, gradient, updated weight and running
// statistic), a short training run on the GPU whose checkpoint the CPU loads, the
// captured CUDA graph against the eager iteration (bit for bit), and short trainings in
// tf32 and bf16 against the fp32 one. Without a GPU these report themselves skipped.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "gan/acgan.h"
#include "base/precision.h"
#include "gan/checkpoint.h"
#include "gan/iteration.h"
#include "gan/sampler.h"
#include "gan/trainer.h"
#include "gan_util.h"
#include "support/check.h"
#include "support/skip.h"

using namespace cg;
using namespace cg::gan;

namespace {

// |a-b| <= atol_frac*max|b| + rtol*|b| + slack_i; slack for Adam's sign ambiguity where the
// reference gradient is at float32 zero (see test_parity.cpp).
void check_close(const std::string& name, const Tensor& a, const Tensor& b, double atol_frac, double rtol,
                 const std::vector<double>* slack = nullptr) {
  const cgtest::Compare c = cgtest::compare_scaled(a.to_vector(), b.to_vector(), atol_frac, rtol, slack);
  INFO(name << " cuda vs cpu: " << c.str());
  CHECK(c.ok);
}

struct Side {
  Generator G;
  Discriminator D;
  Adam opt_g, opt_d;
  Side(const ModelConfig& m, Device dev)
      : G(m, dev), D(m, dev), opt_g(G.params(), {2e-4, 0.5, 0.999, 1e-8}), opt_d(D.params(), {2e-4, 0.5, 0.999, 1e-8}) {
    Philox init(21);
    G.init(init);
    D.init(init);
  }
};

}  // namespace

TEST_CASE("CUDA: one AC-GAN iteration matches the CPU reference") {
  CG_SKIP_WITHOUT_CUDA();
  ModelConfig m;
  m.image_size = 32;
  m.base_channels = 16;
  m.num_genres = 3;
  Side cpu(m, Device::cpu), gpu(m, Device::cuda);
  const int64_t B = 8;
  StepBatch bc, bg;
  Philox r1(4);
  bc.real = Tensor::empty(Shape{B, 3, 32, 32});
  r1.uniform(bc.real, -1.0, 1.0);
  bc.real_labels = Tensor::from_labels({0, 1, 2, 0, 1, 2, 0, 1});
  draw_latents(r1, m, B, Device::cpu, DType::f32, bc);
  bg.real = bc.real.to(Device::cuda);
  bg.real_labels = bc.real_labels.to(Device::cuda);
  Philox r3(4);  // the same draws as r1, the latents placed on the GPU
  Tensor skip = Tensor::empty(Shape{B, 3, 32, 32});
  r3.uniform(skip, -1.0, 1.0);
  draw_latents(r3, m, B, Device::cuda, DType::f32, bg);
  CHECK_CLOSE_T(bg.z, bc.z, 0, 0);
  const LossConfig lc{true, 1.0};
  StepStats sc, sg;
  d_backward(cpu.G, cpu.D, bc, lc, sc);
  d_backward(gpu.G, gpu.D, bg, lc, sg);
  for (auto [n, a, b] : {std::tuple{"d_total", sg.d_total, sc.d_total}, {"d_src_real", sg.d_src_real, sc.d_src_real},
                         {"d_cls_fake", sg.d_cls_fake, sc.d_cls_fake}, {"d_code", sg.d_code, sc.d_code}}) {
    INFO(n);
    CHECK(a == doctest::Approx(b).epsilon(1e-4));
  }
  std::map<std::string, std::vector<double>> slack;
  auto grads = [&](ParamStore& g, ParamStore& c) {
    for (size_t i = 0; i < c.params().size(); ++i) {
      const Tensor& ref = c.params()[i].grad();
      check_close(c.params()[i].name() + ".grad", g.params()[i].grad(), ref, 3e-5, 1e-4);
      const auto v = ref.to_vector();
      double scale = 0;
      for (double x : v) scale = std::max(scale, std::fabs(x));
      auto& s = slack[c.params()[i].name()];
      for (double x : v) s.push_back(std::fabs(x) <= 6e-5 * scale ? 4e-4 : 0.0);
    }
  };
  grads(gpu.D.params(), cpu.D.params());
  cpu.opt_d.step();
  gpu.opt_d.step();
  g_backward(cpu.G, cpu.D, bc, lc, sc);
  g_backward(gpu.G, gpu.D, bg, lc, sg);
  CHECK(sg.g_total == doctest::Approx(sc.g_total).epsilon(1e-4));
  grads(gpu.G.params(), cpu.G.params());
  cpu.opt_g.step();
  gpu.opt_g.step();
  for (auto [g, c] : {std::pair{&gpu.G.params(), &cpu.G.params()}, {&gpu.D.params(), &cpu.D.params()}}) {
    for (size_t i = 0; i < c->params().size(); ++i)
      check_close(c->params()[i].name(), g->params()[i], c->params()[i], 1e-6, 1e-4, &slack[c->params()[i].name()]);
    for (size_t i = 0; i < c->buffers().size(); ++i)
      check_close(c->buffers()[i].name(), g->buffers()[i], c->buffers()[i], 1e-5, 1e-4);
  }
}

TEST_CASE("CUDA: a short training run on the GPU whose checkpoint loads and samples on the CPU") {
  CG_SKIP_WITHOUT_CUDA();
  gantest::Scratch dir("cudarun");
  gantest::write_striped_dataset(dir / "d.cgd", 64, 32, {"red", "blue"}, 1);
  TrainConfig c;
  c.data = dir / "d.cgd";
  c.device = "cuda";
  c.batch = 16;
  c.model.base_channels = 16;
  c.steps = 12;
  c.sample_every = 6;
  c.checkpoint_every = 6;
  c.lr_finetune = {2e-4, 2e-4};
  TrainOptions o;
  o.out = dir / "run";
  o.quiet = true;
  o.handle_signals = false;
  const TrainResult r = train(c, o);
  CHECK(r.steps == 12);
  REQUIRE(std::filesystem::exists(r.last_checkpoint));
  const Checkpoint ck = Checkpoint::load(r.last_checkpoint);
  Generator G(ck.config().model, Device::cpu);
  ck.restore(G);
  Philox rng(1);
  const Tensor x = generate(G, genre_rows(ck.config().model, 2, true, rng), BnMode::batch);
  for (double v : x.to_vector()) REQUIRE(std::isfinite(v));
  // Resume on the GPU continues (bitwise equality is a CPU promise: cuDNN may reduce in any order).
  o.resume = true;
  o.overrides = {{"steps", 18}};
  CHECK(train(c, o).steps == 18);
}

namespace {

// One side of a graph-against-eager comparison: models from the same seed, a runner.
struct Pipeline {
  Side side;
  IterationRunner runner;
  Pipeline(const ModelConfig& m, int64_t B, bool graph)
      : side(m, Device::cuda),
        runner(side.G, side.D, side.opt_g, side.opt_d, LossConfig{true, 1.0}, B, 31, 0, RunnerOptions{graph, 8}) {}
};

void fill_batch(int64_t k, Tensor& real, Tensor& labels, int K) {
  Philox r(500 + uint64_t(k));
  Tensor x = Tensor::empty(real.shape());
  r.uniform(x, -1.0, 1.0);
  real.copy_(x);
  std::vector<int32_t> y;
  for (int64_t i = 0; i < labels.numel(); ++i) y.push_back(int32_t((i * 7 + k) % K));
  labels.copy_(Tensor::from_labels(y));
}

// Mean of column `col` of metrics.csv over its last n rows.
double tail_mean(const std::string& csv, int col, int n) {
  std::ifstream in(csv);
  std::string line;
  std::vector<double> v;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string cell;
    for (int i = 0; i <= col && std::getline(ss, cell, ','); ++i) {
    }
    v.push_back(std::stod(cell));
  }
  REQUIRE(int(v.size()) >= n);
  double s = 0;
  for (size_t i = v.size() - size_t(n); i < v.size(); ++i) s += v[i];
  return s / n;
}

}  // namespace

TEST_CASE("CUDA: the captured graph computes the eager iteration's numbers bit for bit") {
  CG_SKIP_WITHOUT_CUDA();
  CudaMath math = cuda_math();
  math.deterministic = true;  // the same algorithms, no atomics' order: comparable bits
  math.precision = Precision::fp32;
  const CudaMathScope scope(math);
  ModelConfig m;
  m.image_size = 32;
  m.base_channels = 16;
  m.num_genres = 3;
  const int64_t B = 16;
  Pipeline eager(m, B, false), graph(m, B, true);
  for (int64_t k = 0; k < 6; ++k) {
    for (Pipeline* p : {&eager, &graph}) {
      fill_batch(k, p->runner.real(), p->runner.real_labels(), 3);
      p->runner.step();
    }
    StepStats a, b;
    REQUIRE(eager.runner.next_stats(&a, true));
    REQUIRE(graph.runner.next_stats(&b, true));
    INFO("iteration " << k);
    for (auto [x, y] : {std::pair{a.d_total, b.d_total}, {a.g_total, b.g_total}, {a.d_code, b.d_code},
                        {a.d_real, b.d_real}, {a.acc_fake, b.acc_fake}})
      CHECK(x == y);
  }
  CHECK(graph.runner.graph_captured());
  CHECK_FALSE(eager.runner.graph_captured());
  CHECK(graph.side.opt_g.steps() == 6);
  CHECK(graph.runner.latent_offset() == eager.runner.latent_offset());
  CHECK(graph.runner.state().read_offset() == graph.runner.latent_offset());  // the device's count and the host's
  for (auto [e, g] : {std::pair{&eager.side.G.params(), &graph.side.G.params()}, {&eager.side.D.params(), &graph.side.D.params()}}) {
    CHECK_CLOSE_T(g->flat(), e->flat(), 0, 0);
    CHECK_CLOSE_T(g->flat_buffers(), e->flat_buffers(), 0, 0);
  }
  CHECK_CLOSE_T(graph.side.opt_d.v(), eager.side.opt_d.v(), 0, 0);
}

TEST_CASE("CUDA: with dropout in D the runner steps eagerly (no graph) and draws new masks every iteration") {
  CG_SKIP_WITHOUT_CUDA();
  ModelConfig m;
  m.image_size = 32;
  m.base_channels = 16;
  m.num_genres = 3;
  m.d_dropout = 0.3;
  const int64_t B = 8;
  Pipeline p(m, B, true);  // a graph asked for
  std::set<uint64_t> keys;
  for (int64_t k = 0; k < 3; ++k) {
    fill_batch(k, p.runner.real(), p.runner.real_labels(), 3);
    p.runner.step();
    keys.insert(p.runner.batch().dropout_key);
    StepStats s;
    REQUIRE(p.runner.next_stats(&s, true));
    CHECK(std::isfinite(s.d_total));
    CHECK(s.halted == 0);
  }
  CHECK_FALSE(p.runner.graph_captured());
  CHECK(keys.size() == 3);
  CHECK(p.side.opt_d.steps() == 3);
}

TEST_CASE("CUDA: short trainings in tf32 and bf16 follow the fp32 run's losses") {
  CG_SKIP_WITHOUT_CUDA();
  gantest::Scratch dir("cudaprec");
  gantest::write_striped_dataset(dir / "d.cgd", 256, 32, {"red", "blue"}, 1);
  double d_loss[3], g_loss[3];
  const char* const names[3] = {"fp32", "tf32", "bf16"};
  for (int p = 0; p < 3; ++p) {
    TrainConfig c;
    c.data = dir / "d.cgd";
    c.device = "cuda";
    c.precision = names[p];
    c.batch = 32;
    c.model.base_channels = 16;
    c.steps = 60;
    c.sample_every = 0;
    c.checkpoint_every = 0;
    c.lr_finetune = {2e-4, 2e-4};
    TrainOptions o;
    o.out = dir / names[p];
    o.quiet = true;
    o.handle_signals = false;
    REQUIRE(train(c, o).steps == 60);
    const std::string run = dir / names[p];
    const nlohmann::json saved = read_json_file(run + "/config.json");
    CHECK(saved["precision"] == names[p]);
    d_loss[p] = tail_mean(run + "/metrics.csv", 3, 20);
    g_loss[p] = tail_mean(run + "/metrics.csv", 9, 20);
  }
  for (int p = 1; p < 3; ++p) {
    INFO(names[p] << ": D " << d_loss[p] << " G " << g_loss[p] << " against fp32 D " << d_loss[0] << " G " << g_loss[0]);
    CHECK(std::isfinite(d_loss[p]));
    CHECK(std::fabs(d_loss[p] - d_loss[0]) <= 0.15 * std::fabs(d_loss[0]) + 0.05);
    CHECK(std::fabs(g_loss[p] - g_loss[0]) <= 0.15 * std::fabs(g_loss[0]) + 0.05);
  }
}
