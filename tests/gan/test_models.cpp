// The generator and discriminator: names and shapes of the paper's configuration,
// output shapes at every image size, initialisation, the generator input layout,
// finite-difference gradient checks of the whole G and D in double, and the config.
#include <cmath>
#include <set>
#include <tuple>

#include "gan/acgan.h"
#include "gan/config.h"
#include "gan/profile.h"
#include "gan/sampler.h"
#include "layers/gradcheck_ops.h"
#include "layers/shape_ops.h"
#include "support/check.h"

using namespace cg;
using namespace cg::gan;

namespace {

ModelConfig tiny(int size = 16, int base = 2, int genres = 2) {
  ModelConfig m;
  m.image_size = size;
  m.base_channels = base;
  m.num_genres = genres;
  m.z_dim = 8;
  return m;
}

Shape shape_of(ParamStore& ps, const std::string& name) {
  const Tensor t = ps.find(name);
  REQUIRE_MESSAGE(t.defined(), name << " is missing");
  return t.shape();
}

// A whole model sums thousands of outputs into the checked scalar, so the default
// step (1e-6) drowns in double round-off (error ~ 1e-16 * sum|terms| / h, measured
// to grow as 1/h); h = 1e-4 keeps both round-off and truncation below 1e-6.
void check_whole_model(const std::function<Tensor(Tape*)>& f, const std::vector<Tensor>& inputs) {
  const auto gc = cgtest::gradcheck(f, inputs, 1e-4);
  INFO("gradcheck worst: " << gc.where << " rel err " << gc.max_rel_err);
  CHECK(gc.max_rel_err <= 1e-6);
}

}  // namespace

TEST_CASE("the paper's configuration: parameter names and shapes as docs/DESIGN.md's tables") {
  ModelConfig m;  // defaults: 64x64, base 128, z 100, K 5, 2 codes
  Generator G(m, Device::cpu);
  Discriminator D(m, Device::cpu);
  auto& g = G.params();
  auto& d = D.params();
  CHECK(shape_of(g, "G.fc.weight") == Shape{16384, 100});
  CHECK(shape_of(g, "G.bn0.weight") == Shape{1024});
  CHECK(shape_of(g, "G.bn0.running_var") == Shape{1024});
  CHECK(shape_of(g, "G.deconv1.weight") == Shape{1024, 512, 4, 4});
  CHECK(shape_of(g, "G.deconv2.weight") == Shape{512, 256, 4, 4});
  CHECK(shape_of(g, "G.deconv3.weight") == Shape{256, 128, 4, 4});
  CHECK(shape_of(g, "G.deconv4.weight") == Shape{128, 3, 4, 4});
  CHECK(shape_of(g, "G.deconv4.bias") == Shape{3});
  CHECK_FALSE(g.find("G.fc.bias").defined());       // BatchNorm follows: a bias would be dead weight
  CHECK_FALSE(g.find("G.deconv1.bias").defined());
  CHECK(shape_of(d, "D.conv1.weight") == Shape{128, 3, 4, 4});
  CHECK(shape_of(d, "D.conv1.bias") == Shape{128});
  CHECK_FALSE(d.find("D.bn1.weight").defined());    // no BatchNorm on the first conv (DCGAN)
  CHECK(shape_of(d, "D.conv4.weight") == Shape{1024, 512, 4, 4});
  CHECK(shape_of(d, "D.bn4.running_mean") == Shape{1024});
  CHECK(shape_of(d, "D.fc_src.weight") == Shape{1, 16384});
  CHECK(shape_of(d, "D.fc_cls.weight") == Shape{5, 16384});
  CHECK(shape_of(d, "D.fc_code.weight") == Shape{2, 16384});
  CHECK(g.num_params() == 16384 * 100 + 2 * (1024 + 512 + 256 + 128) + 16 * (1024 * 512 + 512 * 256 + 256 * 128 +
                                                                              128 * 3) + 3);
  CHECK(d.num_params() == 16 * (3 * 128 + 128 * 256 + 256 * 512 + 512 * 1024) + 128 + 2 * (256 + 512 + 1024) +
                              16384 * 8 + 8);
}

TEST_CASE("G and D produce the right shapes at every image size") {
  for (int size : {16, 32, 64, 128}) {
    CAPTURE(size);
    const ModelConfig m = tiny(size, 2, 3);
    Generator G(m, Device::cpu);
    Discriminator D(m, Device::cpu);
    Philox rng(1);
    G.init(rng);
    D.init(rng);
    const Latents l = draw_latents_for(m, {0, 1, 2}, rng);
    const Tensor x = generate(G, l, BnMode::batch);
    CHECK(x.shape() == Shape{3, 3, size, size});
    for (double v : x.to_vector()) REQUIRE((v > -1.0 && v < 1.0));
    const DOut o = D.forward(nullptr, x, BnMode::train);
    CHECK(o.src.shape() == Shape{3, 1});
    CHECK(o.cls.shape() == Shape{3, 3});
    CHECK(o.code.shape() == Shape{3, 2});
  }
}

TEST_CASE("initialisation: weights N(0, 0.02) reproducible from the seed, biases 0, BatchNorm 1/0") {
  ModelConfig m = tiny(32, 16, 3);
  Generator a(m, Device::cpu), b(m, Device::cpu);
  Philox r1(42), r2(42);
  a.init(r1);
  b.init(r2);
  CHECK_CLOSE_T(a.params().flat(), b.params().flat(), 0, 0);
  const auto w = a.params().find("G.deconv1.weight").to_vector();
  double s = 0, s2 = 0;
  for (double v : w) s += v, s2 += v * v;
  const double mean = s / double(w.size()), sd = std::sqrt(s2 / double(w.size()) - mean * mean);
  CHECK(std::fabs(mean) < 0.002);
  CHECK(sd == doctest::Approx(0.02).epsilon(0.05));
  for (double v : a.params().find("G.deconv3.bias").to_vector()) CHECK(v == 0.0);
  for (double v : a.params().find("G.bn1.weight").to_vector()) CHECK(v == 1.0);
  for (double v : a.params().find("G.bn1.bias").to_vector()) CHECK(v == 0.0);
  for (double v : a.params().find("G.bn1.running_var").to_vector()) CHECK(v == 1.0);
  Generator c(m, Device::cpu);
  Philox r3(43);
  c.init(r3);
  CHECK(c.params().find("G.fc.weight").to_vector() != a.params().find("G.fc.weight").to_vector());
}

TEST_CASE("the generator input is [one-hot genre | codes | noise]") {
  ModelConfig m = tiny();
  m.num_genres = 3;
  m.z_dim = 8;  // 3 + 2 + 3 noise
  const Tensor codes = Tensor::from({0.5, -0.5, 0.25, 0.75}, Shape{2, 2});
  const Tensor noise = Tensor::from({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  const Tensor z = make_generator_input(m, {2, 0}, codes, noise);
  CHECK(z.to_vector() == std::vector<double>{0, 0, 1, 0.5, -0.5, 1, 2, 3, 1, 0, 0, 0.25, 0.75, 4, 5, 6});
  CHECK_THROWS_AS(make_generator_input(m, {3, 0}, codes, noise), cg::Error);
  StepBatch b;
  Philox rng(7);
  draw_latents(rng, m, 64, Device::cpu, DType::f32, b);
  const auto zv = b.z.to_vector(), cv = b.codes.to_vector();
  const auto lab = b.fake_labels.to_vector();
  for (int i = 0; i < 64; ++i) {
    double hot = 0;
    for (int k = 0; k < 3; ++k) hot += zv[size_t(i * 8 + k)];
    CHECK(hot == 1.0);
    CHECK(zv[size_t(i * 8 + int(lab[size_t(i)]))] == 1.0);
    for (int k = 3; k < 8; ++k) REQUIRE((zv[size_t(i * 8 + k)] >= -1.0 && zv[size_t(i * 8 + k)] <= 1.0));
    CHECK(zv[size_t(i * 8 + 3)] == cv[size_t(i * 2)]);
  }
}

TEST_CASE("whole generator gradients match finite differences (double)") {
  ModelConfig m = tiny(16, 2, 2);
  m.init_std = 0.3;
  Generator G(m, Device::cpu, DType::f64);
  Philox rng(3);
  G.init(rng);
  std::mt19937 r(5);
  Tensor z = cgtest::random_tensor(Shape{3, m.z_dim}, r);
  z.set_requires_grad(true);
  std::vector<Tensor> inputs{z};
  for (const Tensor& p : G.params().params()) inputs.push_back(p);
  auto f = [&](Tape* tape) { return G.forward(tape, z, BnMode::batch); };
  check_whole_model(f, inputs);
}

TEST_CASE("whole discriminator gradients match finite differences (double)") {
  ModelConfig m = tiny(16, 2, 3);
  m.init_std = 0.3;  // gradients well above double round-off of the finite differences
  Discriminator D(m, Device::cpu, DType::f64);
  Philox rng(4);
  D.init(rng);
  std::mt19937 r(6);
  Tensor x = cgtest::random_tensor(Shape{2, 3, 16, 16}, r);
  x.set_requires_grad(true);
  std::vector<Tensor> inputs{x};
  for (const Tensor& p : D.params().params()) inputs.push_back(p);
  auto f = [&](Tape* tape) {
    const DOut o = D.forward(tape, x, BnMode::batch);
    return concat(tape, {o.src, o.cls, o.code});
  };
  check_whole_model(f, inputs);
}

TEST_CASE("whole discriminator with dropout in training mode matches finite differences (one fixed mask)") {
  ModelConfig m = tiny(16, 2, 3);
  m.init_std = 0.3;
  m.d_dropout = 0.4;
  Discriminator D(m, Device::cpu, DType::f64);
  Philox rng(4);
  D.init(rng);
  std::mt19937 r(8);
  Tensor x = cgtest::random_tensor(Shape{3, 3, 16, 16}, r);
  x.set_requires_grad(true);
  std::vector<Tensor> inputs{x};
  for (const Tensor& p : D.params().params()) inputs.push_back(p);
  size_t dropouts = 0;
  auto f = [&](Tape* tape) {
    Philox masks(99);  // every evaluation draws the same masks
    const DOut o = D.forward(tape, x, BnMode::train, &masks);
    if (tape)
      for (const Record& rec : tape->records()) dropouts += std::string(rec.op) == "dropout";
    return concat(tape, {o.src, o.cls, o.code});
  };
  check_whole_model(f, inputs);
  CHECK(dropouts == size_t(m.n_layers()));  // one after each conv block
  // Without a stream D cannot draw masks in training; in eval or batch mode it needs none.
  CHECK_THROWS_WITH_AS(D.forward(nullptr, x, BnMode::train), doctest::Contains("needs a Philox stream"), cg::Error);
  CHECK_NOTHROW(D.forward(nullptr, x, BnMode::eval));
}

TEST_CASE("D's paired forward (real and generated as one batch) gives two forwards' outputs, gradients and statistics") {
  for (DType dt : {DType::f64, DType::f32}) {
    INFO(dtype_name(dt));
    ModelConfig m = tiny(32, 4, 3);  // 3 blocks: 16x16, 8x8, 4x4 outputs
    m.n_codes = 2;
    Discriminator D1(m, Device::cpu, dt), D2(m, Device::cpu, dt);
    Philox r1(4), r2(4);
    D1.init(r1), D2.init(r2);
    std::mt19937 r(9);
    const Tensor real = cgtest::random_tensor(Shape{3, 3, 32, 32}, r, 1.0, dt);
    const Tensor fake = cgtest::random_tensor(Shape{3, 3, 32, 32}, r, 1.0, dt);
    Tensor fake1 = fake.clone(), fake2 = fake.clone();  // G's output: the gradient D passes back
    fake1.set_requires_grad(true), fake2.set_requires_grad(true);
    auto loss = [](Tape& t, const DOut& a, const DOut& b) {
      return weighted_sum(&t, {concat(&t, {a.src, a.cls, a.code}), concat(&t, {b.src, b.cls, b.code})}, {1.0, -0.7});
    };
    Tape t1, t2;
    const auto [a1, b1] = D1.forward_pair(&t1, real, fake1, BnMode::train);
    const Tensor l1 = loss(t1, a1, b1);
    t1.backward(l1, Tensor::full(l1.shape(), 1.0, dt));
    const DOut a2 = D2.forward(&t2, real, BnMode::train), b2 = D2.forward(&t2, fake2, BnMode::train);
    const Tensor l2 = loss(t2, a2, b2);
    t2.backward(l2, Tensor::full(l2.shape(), 1.0, dt));
    const double tol = dt == DType::f32 ? 2e-5 : 1e-12;
    CHECK_CLOSE_T(l1, l2, tol, tol);
    CHECK_CLOSE_T(fake1.grad(), fake2.grad(), tol, tol);
    const auto &p1 = D1.params().params(), &p2 = D2.params().params();
    REQUIRE(p1.size() == p2.size());
    for (size_t i = 0; i < p1.size(); ++i) {
      INFO("parameter " << i);
      CHECK_CLOSE_T(p1[i].grad(), p2[i].grad(), tol, tol);
    }
    for (const char* s : {"D.bn2.running_mean", "D.bn2.running_var", "D.bn3.running_var"}) {
      INFO(s);
      CHECK_CLOSE_T(D1.params().find(s), D2.params().find(s), tol, tol);
    }
  }
  // Dropout draws its masks call by call: a paired forward would draw them in another order.
  ModelConfig m = tiny(16, 2, 3);
  m.d_dropout = 0.3;
  Discriminator D(m, Device::cpu, DType::f32);
  const Tensor x = Tensor::zeros(Shape{2, 3, 16, 16});
  CHECK_THROWS_WITH_AS(D.forward_pair(nullptr, x, x, BnMode::train), doctest::Contains("d_dropout"), cg::Error);
  CHECK_THROWS_WITH_AS(D.forward_pair(nullptr, x, Tensor::zeros(Shape{3, 3, 16, 16})), doctest::Contains("differ"),
                       cg::Error);
}

TEST_CASE("every op a training iteration records has an entry in the gradcheck list") {
  std::set<std::string> checked;
  for (const OpGradcheck& e : gradcheck_ops()) checked.insert(e.op);
  for (double dropout : {0.2, 0.0}) {  // every optional op on; then D's paired batches
    INFO("d_dropout " << dropout);
    ModelConfig m = tiny(16, 2, 3);
    m.d_dropout = dropout;
    IterationRig rig(m, 2, Device::cpu);
    draw_latents(rig.rng, rig.cfg, 2, Device::cpu, DType::f32, rig.b);
    StepStats st;
    TapeGraph d, g;
    d_backward(*rig.G, *rig.D, rig.b, rig.lc, st, &d);
    g_backward(*rig.G, *rig.D, rig.b, rig.lc, st, &g);
    size_t ops = 0, paired = 0;
    for (const TapeGraph* t : {&d, &g})
      for (const TapeGraph::Op& op : t->ops) {
        CHECK_MESSAGE(checked.count(op.op), op.op << " is recorded in training but has no gradcheck entry "
                                                     "(layers/gradcheck_ops.cpp)");
        ++ops, paired += op.op == std::string("slice_batch");  // each half's features, for its heads
      }
    CHECK(ops > 30);
    CHECK(paired == (dropout == 0 ? 2u : 0u));
  }
}

TEST_CASE("config: JSON round trip, unknown keys and bad values are one-sentence errors") {
  TrainConfig c;
  c.data = "x.cgd";
  c.genres = {"a", "b", "c", "d", "e"};
  c.model.base_channels = 32;
  c.steps = 7;
  c.lr_finetune.d = 3e-5;
  const TrainConfig back = train_config_from_json(to_json(c));
  CHECK(to_json(back) == to_json(c));
  CHECK(back.model == c.model);
  CHECK_NOTHROW(c.validate());
  CHECK_THROWS_WITH_AS(train_config_from_json(nlohmann::json{{"epoch", 3}}),
                       doctest::Contains("Unknown training setting \"epoch\""), cg::Error);
  CHECK_THROWS_WITH_AS(train_config_from_json(nlohmann::json{{"model", {{"size", 3}}}}),
                       doctest::Contains("Unknown model setting \"size\""), cg::Error);
  CHECK_THROWS_WITH_AS(train_config_from_json(nlohmann::json{{"batch", "big"}}),
                       doctest::Contains("\"batch\" has the wrong type"), cg::Error);
  ModelConfig m;
  m.image_size = 48;
  CHECK_THROWS_WITH_AS(m.validate(), doctest::Contains("16, 32, 64 or 128"), cg::Error);
  m = ModelConfig{};
  m.num_genres = 99;
  CHECK_THROWS_WITH_AS(m.validate(), doctest::Contains("noise remains"), cg::Error);
  m = ModelConfig{};
  m.d_dropout = 1.0;
  CHECK_THROWS_WITH_AS(m.validate(), doctest::Contains("d_dropout must be in [0, 1), got 1"), cg::Error);
  c.model.d_dropout = 0.25;
  CHECK(train_config_from_json(to_json(c)).model.d_dropout == 0.25);
  TrainConfig bad = c;
  bad.beta1 = 1.0;
  CHECK_THROWS_AS(bad.validate(), cg::Error);
}

namespace {
// G's and D's flat gradients after one D step and one G step on the rig's batch with lc.
std::pair<std::vector<float>, std::vector<float>> step_grads(IterationRig& rig, const LossConfig& lc, StepStats& st) {
  d_backward(*rig.G, *rig.D, rig.b, lc, st);
  const Tensor gd = rig.D->params().flat_grad().to(Device::cpu);
  g_backward(*rig.G, *rig.D, rig.b, lc, st);
  const Tensor gg = rig.G->params().flat_grad().to(Device::cpu);
  return {std::vector<float>(gg.data<float>(), gg.data<float>() + gg.numel()),
          std::vector<float>(gd.data<float>(), gd.data<float>() + gd.numel())};
}
}  // namespace

TEST_CASE("the genre terms' weights scale G's genre term and D's term on generated covers, values and gradients") {
  IterationRig rig(tiny(16, 2, 3), 4, Device::cpu);
  draw_latents(rig.rng, rig.cfg, 4, Device::cpu, DType::f32, rig.b);
  const auto with = [](double g, double d) {
    LossConfig lc;
    lc.g_genre_weight = g, lc.d_fake_genre_weight = d;
    return lc;
  };
  StepStats s1, sh, s0;
  const auto [g1, d1] = step_grads(rig, with(1, 1), s1);
  const auto [gh, dh] = step_grads(rig, with(0.5, 0.5), sh);
  const auto [g0, d0] = step_grads(rig, with(0, 0), s0);
  // Same batch, same weights: every term but the weighted ones is the same in the three.
  CHECK(sh.g_cls == doctest::Approx(s1.g_cls).epsilon(1e-6));
  CHECK(sh.g_total == doctest::Approx(sh.g_src + 0.5 * sh.g_cls + sh.g_code).epsilon(1e-5));
  CHECK(s0.g_total == doctest::Approx(s0.g_src + s0.g_code).epsilon(1e-5));
  CHECK(sh.d_total ==
        doctest::Approx(sh.d_src_real + sh.d_src_fake + sh.d_cls_real + 0.5 * sh.d_cls_fake + sh.d_code).epsilon(1e-5));
  CHECK(s1.g_cls > 0.01);
  CHECK(s1.d_cls_fake > 0.01);
  // The losses are linear in the weights, so the gradients at weight 0.5 are the mean of
  // those at 0 and 1; and a weight that reached no gradient would make 1 and 0 equal.
  double worst = 0, moved = 0;
  for (const auto& [one, half, zero] : {std::tie(g1, gh, g0), std::tie(d1, dh, d0)})
    for (size_t i = 0; i < one.size(); ++i) {
      worst = std::max(worst, std::abs(double(half[i]) - 0.5 * (double(one[i]) + double(zero[i]))));
      moved = std::max(moved, std::abs(double(one[i]) - double(zero[i])));
    }
  CHECK(worst < 1e-5);
  CHECK(moved > 1e-3);
  TrainConfig c;
  c.data = "x.cgd";
  c.genres = {"a", "b", "c", "d", "e"};
  c.g_genre_weight = 0.25, c.d_fake_genre_weight = 0;
  CHECK_NOTHROW(c.validate());
  const TrainConfig back = train_config_from_json(to_json(c));
  CHECK(back.g_genre_weight == 0.25);
  CHECK(back.d_fake_genre_weight == 0);
  c.g_genre_weight = -1;
  CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("g_genre_weight must be a weight in [0, 10]"), cg::Error);
}
