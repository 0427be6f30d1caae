// The iteration as device work (gan/acgan.h, gan/iteration.h) on the CPU: the latent draw's
// layout, the runner's pipeline against the step-by-step host path (the same numbers, the
// same latent offsets and Adam counts), and the non-finite guard that stops every update
// without a host check inside the iteration. The CUDA side (graph against eager, each
// precision's training) is in test_cuda_gan.cpp.
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <set>
#include <thread>

#include "gan/acgan.h"
#include "gan/iteration.h"
#include "kernels/common/latents.h"
#include "kernels/cpu/threads.h"
#include "support/check.h"
#include "support/skip.h"

using namespace cg;
using namespace cg::gan;

namespace {

ModelConfig tiny() {
  ModelConfig m;
  m.image_size = 16;
  m.base_channels = 4;
  m.num_genres = 3;
  return m;
}

struct Side {
  Generator G;
  Discriminator D;
  Adam opt_g, opt_d;
  explicit Side(const ModelConfig& m)
      : G(m, Device::cpu), D(m, Device::cpu), opt_g(G.params(), {2e-4, 0.5, 0.999, 1e-8}),
        opt_d(D.params(), {2e-4, 0.5, 0.999, 1e-8}) {
    Philox init(21);
    G.init(init);
    D.init(init);
  }
};

// A real batch of B images for iteration k (the same for both sides of a comparison).
void real_batch(int64_t k, int64_t B, int S, Tensor& real, Tensor& labels) {
  Philox r(100 + uint64_t(k));
  Tensor x = Tensor::empty(Shape{B, 3, S, S});
  r.uniform(x, -1.0, 1.0);
  real.copy_(x);
  std::vector<int32_t> y;
  for (int64_t i = 0; i < B; ++i) y.push_back(int32_t((i + k) % 3));
  labels.copy_(Tensor::from_labels(y));
}

}  // namespace

TEST_CASE("the latent draw: one-hot genres in range, codes in z, values in -1 to 1 (1 excluded), the documented advance") {
  const ModelConfig m = tiny();
  const int64_t B = 37;
  IterationState st(Device::cpu, 77, 5);
  StepBatch b;
  draw_latents(st, m, B, b);
  CHECK(st.read_offset() == 5 + latent_words(m, B));
  CHECK(latent_words(m, B) == 40 + 76 + 37 * 95 + 1);  // B, B*C and B*Z each rounded up to 4 words
  const std::vector<double> z = b.z.to_vector(), codes = b.codes.to_vector(), g = b.fake_labels.to_vector();
  std::set<int> seen;
  for (int64_t i = 0; i < B; ++i) {
    const int genre = int(g[size_t(i)]);
    REQUIRE(genre >= 0);
    REQUIRE(genre < 3);
    seen.insert(genre);
    for (int64_t k = 0; k < 3; ++k) CHECK(z[size_t(i * 100 + k)] == (k == genre ? 1.0 : 0.0));
    for (int64_t c = 0; c < 2; ++c) CHECK(z[size_t(i * 100 + 3 + c)] == codes[size_t(i * 2 + c)]);
    for (int64_t k = 3; k < 100; ++k) {
      CHECK(z[size_t(i * 100 + k)] >= -1.0);
      CHECK(z[size_t(i * 100 + k)] < 1.0);
    }
  }
  CHECK(seen.size() == 3);
  // A second draw continues the stream; the same state again gives the same values.
  StepBatch again;
  draw_latents(st, m, B, again);
  CHECK(again.z.to_vector() != z);
  IterationState same(Device::cpu, 77, 5);
  draw_latents(same, m, B, again);
  CHECK(again.z.to_vector() == z);
  // Element by element, as the CUDA kernel computes it.
  const common::LatentLayout L{B, 3, 2, 95};
  CHECK(double(common::latent_value(L, 77, 5, 7, 50)) == z[7 * 100 + 50]);
}

TEST_CASE("the iteration runner gives the numbers of the step-by-step path, and counts as it goes") {
  const ModelConfig m = tiny();
  const int64_t B = 6;
  Side a(m), b(m);
  IterationRunner runner(a.G, a.D, a.opt_g, a.opt_d, LossConfig{true, 1.0}, B, 99, 12, RunnerOptions{true, 3});
  IterationState draws(Device::cpu, 99, 12);  // the runner's stream, drawn step by step
  StepBatch hb;
  hb.real = Tensor::empty(Shape{B, 3, 16, 16});
  hb.real_labels = Tensor::empty(Shape{B}, DType::i32);
  for (int64_t k = 0; k < 5; ++k) {
    real_batch(k, B, 16, runner.real(), runner.real_labels());
    runner.step();
    StepStats got;
    REQUIRE(runner.next_stats(&got, true));
    real_batch(k, B, 16, hb.real, hb.real_labels);
    draw_latents(draws, m, B, hb);
    const StepStats want = train_step(b.G, b.D, b.opt_g, b.opt_d, hb, LossConfig{true, 1.0});
    INFO("iteration " << k);
    CHECK(got.d_total == want.d_total);
    CHECK(got.g_total == want.g_total);
    CHECK(got.d_code == want.d_code);
    CHECK(got.acc_real == want.acc_real);
    CHECK(got.d_fake == want.d_fake);
    CHECK(got.halted == 0);
  }
  CHECK(runner.latent_offset() == draws.read_offset());
  CHECK(runner.enqueued() == 5);
  CHECK(runner.completed() == 5);
  CHECK_FALSE(runner.graph_captured());  // the CPU runs eagerly
  CHECK(a.opt_g.steps() == 5);
  CHECK(a.opt_d.steps() == 5);
  CHECK_CLOSE_T(a.G.params().flat(), b.G.params().flat(), 0, 0);
  CHECK_CLOSE_T(a.D.params().flat_buffers(), b.D.params().flat_buffers(), 0, 0);
}

TEST_CASE("G's one forward per iteration trains exactly as running it again in the G step (the authors' order)") {
  // train_step keeps the forward the D step read for the G step. The standalone d_backward
  // and g_backward each run G themselves: the authors' iteration. Weights, gradients and
  // losses must agree bit for bit; only G's BatchNorm running statistics differ (they
  // follow each batch once instead of twice), and D's agree.
  const ModelConfig m = tiny();
  const int64_t B = 6;
  Side once(m), twice(m);
  IterationState draws(Device::cpu, 7, 0);
  StepBatch hb;
  hb.real = Tensor::empty(Shape{B, 3, 16, 16});
  hb.real_labels = Tensor::empty(Shape{B}, DType::i32);
  const LossConfig lc{true, 1.0};
  for (int64_t k = 0; k < 4; ++k) {
    real_batch(k, B, 16, hb.real, hb.real_labels);
    draw_latents(draws, m, B, hb);
    const StepStats a = train_step(once.G, once.D, once.opt_g, once.opt_d, hb, lc);
    StepStats b;
    d_backward(twice.G, twice.D, hb, lc, b);  // G's first forward, no tape
    twice.opt_d.step();
    g_backward(twice.G, twice.D, hb, lc, b);  // G's second forward, on the G step's tape
    twice.opt_g.step();
    INFO("iteration " << k);
    CHECK(a.d_total == b.d_total);
    CHECK(a.g_total == b.g_total);
    CHECK(a.g_cls == b.g_cls);
    CHECK(a.d_fake == b.d_fake);
  }
  CHECK_CLOSE_T(once.G.params().flat(), twice.G.params().flat(), 0, 0);
  CHECK_CLOSE_T(once.D.params().flat(), twice.D.params().flat(), 0, 0);
  CHECK_CLOSE_T(once.G.params().flat_grad(), twice.G.params().flat_grad(), 0, 0);
  CHECK_CLOSE_T(once.D.params().flat_buffers(), twice.D.params().flat_buffers(), 0, 0);
  // G's running means moved twice as often in the authors' order: not the same values.
  const std::vector<double> rm1 = once.G.params().find("G.bn0.running_mean").to_vector();
  const std::vector<double> rm2 = twice.G.params().find("G.bn0.running_mean").to_vector();
  double most = 0;
  for (size_t i = 0; i < rm1.size(); ++i) most = std::max(most, std::fabs(rm1[i] - rm2[i]));
  CHECK(most > 0);
  // A G forward serves one G step: its tape is swept once, and a second step says so.
  GForward gf = g_forward(once.G, hb);
  StepStats s;
  g_backward(once.G, once.D, hb, gf, lc, s);
  CHECK_THROWS_WITH_AS(g_backward(once.G, once.D, hb, gf, lc, s), doctest::Contains("fresh G forward"), Error);
}

TEST_CASE("the runner keeps up to its ring of iterations unread and refuses one more") {
  const ModelConfig m = tiny();
  Side a(m);
  IterationRunner runner(a.G, a.D, a.opt_g, a.opt_d, LossConfig{false, 1.0}, 4, 1, 0, RunnerOptions{false, 2});
  runner.step();
  runner.step();
  CHECK(runner.full());
  CHECK_THROWS_WITH_AS(runner.step(), doctest::Contains("ring is full"), Error);
  StepStats s;
  CHECK(runner.next_stats(&s, false));
  CHECK(runner.next_stats(&s, false));
  CHECK_FALSE(runner.next_stats(&s, false));
  CHECK(s.d_cls_real == 0.0);  // pretraining: no genre terms
  CHECK(std::isfinite(s.d_total));
}

TEST_CASE("a non-finite loss sets the guard: no later update, and the host learns which term") {
  const ModelConfig m = tiny();
  Side a(m);
  IterationRunner runner(a.G, a.D, a.opt_g, a.opt_d, LossConfig{true, 1.0}, 4, 3, 0, RunnerOptions{true, 4});
  real_batch(0, 4, 16, runner.real(), runner.real_labels());
  runner.step();
  StepStats s;
  REQUIRE(runner.next_stats(&s, true));
  REQUIRE(s.halted == 0);
  // A NaN pixel makes D's losses on the real batch NaN: the guard must stop both updates.
  Tensor x = runner.real();
  x.data<float>()[0] = NAN;
  const Tensor g_before = a.G.params().flat().clone(), d_before = a.D.params().flat().clone();
  runner.step();
  real_batch(1, 4, 16, runner.real(), runner.real_labels());
  runner.step();  // a finite batch after it: the guard stays set
  REQUIRE(runner.next_stats(&s, true));
  CHECK(s.halted == 1 + common::kDTotal);
  CHECK(std::string(halted_term(s.halted)) == "d_total");
  CHECK(std::isnan(halted_value(s)));
  REQUIRE(runner.next_stats(&s, true));
  CHECK(s.halted == 1 + common::kDTotal);
  CHECK(a.G.params().flat().to_vector() == g_before.to_vector());
  CHECK(a.D.params().flat().to_vector() == d_before.to_vector());
  CHECK(a.opt_d.steps() == 1);  // the halted steps did not count on the CPU
}

TEST_CASE("graph or eager: a CUDA graph only on CUDA, when asked, and without dropout in D, else eager with why") {
  CHECK(choose_graph(true, Device::cuda, 0.0).graph);
  CHECK(describe(choose_graph(true, Device::cuda, 0.0)) == "CUDA graph");
  const GraphChoice cpu = choose_graph(true, Device::cpu, 0.0), off = choose_graph(false, Device::cuda, 0.0),
                    drop = choose_graph(true, Device::cuda, 0.3);
  for (const GraphChoice& c : {cpu, off, drop}) CHECK_FALSE(c.graph);
  CHECK(describe(cpu) == "eager (the CPU has no CUDA graph)");
  CHECK(describe(off) == "eager (--no-graph)");
  CHECK(describe(drop).find("eager (D's dropout") == 0);
  CHECK_FALSE(choose_graph(true, Device::cuda, 1e-9).graph);  // any dropout at all
}

TEST_CASE("with dropout in D the runner keys every iteration's masks by the stream's offset, as the host path") {
  ModelConfig m = tiny();
  m.d_dropout = 0.3;
  const int64_t B = 5;
  Side a(m), b(m);
  IterationRunner runner(a.G, a.D, a.opt_g, a.opt_d, LossConfig{true, 1.0}, B, 7, 40, RunnerOptions{true, 2});
  IterationState draws(Device::cpu, 7, 40);
  StepBatch hb;
  hb.real = Tensor::empty(Shape{B, 3, 16, 16});
  hb.real_labels = Tensor::empty(Shape{B}, DType::i32);
  std::set<uint64_t> keys;
  for (int64_t k = 0; k < 3; ++k) {
    real_batch(k, B, 16, runner.real(), runner.real_labels());
    runner.step();
    StepStats got;
    REQUIRE(runner.next_stats(&got, true));
    real_batch(k, B, 16, hb.real, hb.real_labels);
    draw_latents(draws, m, B, hb);
    hb.dropout_key = dropout_key(7, draws.read_offset());  // where this iteration's draw left the stream
    const StepStats want = train_step(b.G, b.D, b.opt_g, b.opt_d, hb, LossConfig{true, 1.0});
    INFO("iteration " << k);
    CHECK(runner.batch().dropout_key == hb.dropout_key);
    keys.insert(runner.batch().dropout_key);
    CHECK(got.d_total == want.d_total);
    CHECK(got.g_total == want.g_total);
  }
  CHECK(keys.size() == 3);  // new masks every iteration
  CHECK_CLOSE_T(a.D.params().flat(), b.D.params().flat(), 0, 0);
}

TEST_CASE("the runner measures the machine's load each iteration to adapt the CPU threads, as train_step does") {
  // ctest runs this case in a process of its own, where nothing has measured before.
  if (cpu::others_cpu_load() >= 0) CG_SKIP("another case of this process measured the load first");
  const char* adapt = std::getenv("COVERGAN_ADAPT_THREADS");
  if (cpu::compute_threads() <= 1 || std::getenv("OMP_NUM_THREADS") || (adapt && std::string(adapt) == "0"))
    CG_SKIP("thread adaptation is off here (one CPU, OMP_NUM_THREADS or COVERGAN_ADAPT_THREADS=0)");
  const ModelConfig m = tiny();
  Side a(m);
  IterationRunner runner(a.G, a.D, a.opt_g, a.opt_d, LossConfig{true, 1.0}, 2, 5, 0, RunnerOptions{true, 4});
  StepStats s;
  for (int k = 0; k < 2; ++k) {  // adapt_threads measures at most every quarter second
    runner.step();
    REQUIRE(runner.next_stats(&s, true));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  CHECK(cpu::others_cpu_load() >= 0);  // it measured: a busy machine would have made the pool share
  CHECK(cpu::compute_threads() >= 1);
}
