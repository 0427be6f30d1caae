// Losses: closed forms and a hand-computed cross-entropy, finiteness at logits of
// +-100, gradients against finite differences (the random upstream gradient of
// gradcheck exercises the dout scaling), float vs double, accuracy, bad input.
#include <cmath>

#include "layers/losses.h"
#include "layers/shape_ops.h"
#include "support/check.h"

using namespace cg;

TEST_CASE("bce_with_logits equals softplus(z) - t z, finite at logits of +-100") {
  const std::vector<double> z = {100, 100, -100, -100, 0, 2};
  const std::vector<double> t = {1, 0, 1, 0, 0.5, 0.25};
  // Closed forms: softplus(100) - 100 = log1p(e^-100); softplus(-100) = log1p(e^-100).
  const double tiny = std::log1p(std::exp(-100.0));
  const double want = (tiny + (100 + tiny) + (100 + tiny) + tiny + std::log(2.0) +
                       (2 + std::log1p(std::exp(-2.0)) - 0.5)) / 6;
  for (DType dt : {DType::f64, DType::f32}) {
    Tensor loss = bce_with_logits(nullptr, Tensor::from(z, Shape{6}, dt), Tensor::from(t, Shape{6}, dt));
    CHECK(loss.shape() == Shape{1});
    CHECK(std::isfinite(loss.item()));
    CHECK(loss.item() == doctest::Approx(want).epsilon(dt == DType::f64 ? 1e-14 : 1e-6));
  }
  // (N,1) logits with (N) targets.
  Tensor l2 = bce_with_logits(nullptr, Tensor::from(z, Shape{6, 1}, DType::f64), Tensor::from(t, Shape{6}, DType::f64));
  CHECK(l2.item() == doctest::Approx(want).epsilon(1e-14));
}

TEST_CASE("cross_entropy matches a hand-computed value and is finite at +-100") {
  // Row 0: log(e^1+e^2+e^3) - 3 = log(1 + e^-1 + e^-2) = 0.40760596444438; row 1: log 3 = 1.09861228866811.
  Tensor z = Tensor::from({1, 2, 3, 1, 1, 1}, Shape{2, 3}, DType::f64);
  Tensor y = Tensor::from_labels({2, 0});
  CHECK(cross_entropy(nullptr, z, y).item() == doctest::Approx(0.75310912655624).epsilon(1e-13));
  CHECK(cross_entropy(nullptr, z.to(DType::f32), y).item() == doctest::Approx(0.75310912655624).epsilon(1e-6));
  // Row 0 right with margin 200 (loss ~ e^-200), row 1 wrong by 200 (loss 200): mean 100.
  for (DType dt : {DType::f64, DType::f32}) {
    Tensor zz = Tensor::from({100, -100, -100, 100}, Shape{2, 2}, dt);
    zz.set_requires_grad(true);
    Tape tape;
    Tensor loss = cross_entropy(&tape, zz, Tensor::from_labels({0, 0}));
    CHECK(loss.item() == doctest::Approx(100.0).epsilon(1e-7));
    tape.backward(loss);
    // d/dz = (softmax - onehot) / N: row 0 ~ 0, row 1 = (-1, +1) / 2.
    CHECK_CLOSE_T(zz.grad().to_vector(), (std::vector<double>{0, 0, -0.5, 0.5}), 1e-7, 1e-7);
  }
}

TEST_CASE("mse equals the mean squared difference over all elements") {
  Tensor p = Tensor::from({1, 2, 3, 4, 5, 6}, Shape{2, 3}, DType::f64);
  Tensor t = Tensor::from({0, 2, 5, 4, 4, 100}, Shape{2, 3}, DType::f64);
  CHECK(mse(nullptr, p, t).item() == doctest::Approx((1 + 0 + 4 + 0 + 1 + 94.0 * 94) / 6).epsilon(1e-15));
}

TEST_CASE("loss gradients match finite differences") {
  for (int64_t N : {1, 4, 7}) {
    INFO("batch " << N);
    std::mt19937 rng(static_cast<uint32_t>(N));
    // BCE: logits over a wide range, soft targets; (N) and (N,1) layouts.
    for (const Shape& s : {Shape{N}, Shape{N, 1}}) {
      Tensor z = cgtest::random_tensor(s, rng, 6.0), t = cgtest::random_tensor(Shape{N}, rng, 0.5);
      t.add_(Tensor::full(Shape{N}, 0.5, DType::f64));
      z.set_requires_grad(true);
      auto f = [&](Tape* tape) { return bce_with_logits(tape, z, t); };
      CHECK_GRADCHECK(f, (std::vector<Tensor>{z}), 1e-6);
    }
    for (int64_t K : {1, 3, 5}) {
      Tensor z = cgtest::random_tensor(Shape{N, K}, rng, 4.0);
      std::vector<int32_t> labels;
      for (int64_t i = 0; i < N; ++i) labels.push_back(static_cast<int32_t>((i * 7 + 3) % K));
      Tensor y = Tensor::from_labels(labels);
      z.set_requires_grad(true);
      auto f = [&](Tape* tape) { return cross_entropy(tape, z, y); };
      CHECK_GRADCHECK(f, (std::vector<Tensor>{z}), 1e-6);
    }
    for (const Shape& s : {Shape{N, 2}, Shape{N, 3, 2, 3}}) {
      Tensor p = cgtest::random_tensor(s, rng), t = cgtest::random_tensor(s, rng);
      p.set_requires_grad(true);
      auto f = [&](Tape* tape) { return mse(tape, p, t); };
      CHECK_GRADCHECK(f, (std::vector<Tensor>{p}), 1e-6);
    }
  }
}

TEST_CASE("loss backward scales by the upstream gradient and accumulates") {
  Tensor z = Tensor::from({0.3, -1.2, 2.0}, Shape{3}, DType::f64), t = Tensor::from({1, 0, 1}, Shape{3}, DType::f64);
  z.set_requires_grad(true);
  Tape tape;
  Tensor a = bce_with_logits(&tape, z, t), b = mse(&tape, z, t);
  Tensor total = weighted_sum(&tape, {a, b, a}, {2.0, 3.0, 0.5});  // a counted with weight 2.5
  tape.backward(total);
  auto zv = z.to_vector(), tv = t.to_vector(), g = z.grad().to_vector();
  for (size_t i = 0; i < 3; ++i) {
    const double s = 1 / (1 + std::exp(-zv[i]));
    const double want = 2.5 * (s - tv[i]) / 3 + 3.0 * 2 * (zv[i] - tv[i]) / 3;
    CHECK(g[i] == doctest::Approx(want).epsilon(1e-14));
  }
}

TEST_CASE("targets and labels receive no gradient") {
  Tensor z = Tensor::from({0.3, -1.2}, Shape{2}, DType::f64), t = Tensor::from({1, 0}, Shape{2}, DType::f64);
  z.set_requires_grad(true);
  t.set_requires_grad(true);
  Tape tape;
  tape.backward(weighted_sum(&tape, {bce_with_logits(&tape, z, t), mse(&tape, z, t)}, {1, 1}));
  CHECK(z.grad().defined());
  CHECK((!t.grad().defined() || t.grad().to_vector() == std::vector<double>{0, 0}));
}

TEST_CASE("losses: float and double agree to float precision, value and gradient") {
  std::mt19937 rng(13);
  const int64_t N = 16, K = 5;
  Tensor zd = cgtest::random_tensor(Shape{N, K}, rng, 8.0), td = cgtest::random_tensor(Shape{N, K}, rng);
  Tensor bd = cgtest::random_tensor(Shape{N, 1}, rng, 30.0), btd = cgtest::random_tensor(Shape{N}, rng, 0.5);
  btd.add_(Tensor::full(Shape{N}, 0.5, DType::f64));
  std::vector<int32_t> lab;
  for (int64_t i = 0; i < N; ++i) lab.push_back(static_cast<int32_t>(i % K));
  Tensor y = Tensor::from_labels(lab);
  Tensor zf = zd.to(DType::f32), tf = td.to(DType::f32), bf = bd.to(DType::f32), btf = btd.to(DType::f32);
  for (Tensor* p : {&zd, &zf, &bd, &bf}) p->set_requires_grad(true);
  auto run = [&](Tensor& z, Tensor& t, Tensor& b, Tensor& bt) {
    Tape tape;
    Tensor ce = cross_entropy(&tape, z, y), m = mse(&tape, z, t), bce = bce_with_logits(&tape, b, bt);
    Tensor total = weighted_sum(&tape, {ce, m, bce}, {1.0, 0.7, 1.3});
    tape.backward(total);
    return std::vector<double>{ce.item(), m.item(), bce.item()};
  };
  const auto vd = run(zd, td, bd, btd), vf = run(zf, tf, bf, btf);
  CHECK_CLOSE_T(vf, vd, 1e-6, 1e-6);
  CHECK_CLOSE_T(zf.grad(), zd.grad(), 1e-7, 1e-5);
  CHECK_CLOSE_T(bf.grad(), bd.grad(), 1e-7, 1e-5);
}

TEST_CASE("accuracy counts argmax hits, first maximum winning ties") {
  Tensor z = Tensor::from({0.1, 0.9, 0.0, /**/ 2, 1, 0, /**/ 5, 5, 1, /**/ -1, -2, -0.5}, Shape{4, 3}, DType::f32);
  CHECK(accuracy(z, Tensor::from_labels({1, 0, 0, 0})) == doctest::Approx(0.75));
  CHECK(accuracy(z, Tensor::from_labels({1, 0, 1, 2})) == doctest::Approx(0.75));
  CHECK(accuracy(z, Tensor::from_labels({0, 1, 2, 1})) == doctest::Approx(0.0));
}

TEST_CASE("losses reject bad input with messages naming the op and the shapes") {
  Tensor z = Tensor::zeros(Shape{3, 4});
  CHECK_THROWS_WITH_AS(cross_entropy(nullptr, z, Tensor::from_labels({0, 1})),
                       doctest::Contains("cross_entropy: labels has shape (2), expected (3)"), cg::Error);
  CHECK_THROWS_WITH_AS(cross_entropy(nullptr, z, Tensor::from_labels({0, 4, 1})),
                       doctest::Contains("label 4 of row 1 is outside [0, 4)"), cg::Error);
  CHECK_THROWS_WITH_AS(cross_entropy(nullptr, z, Tensor::from_labels({0, -1, 1})),
                       doctest::Contains("label -1"), cg::Error);
  CHECK_THROWS_WITH_AS(cross_entropy(nullptr, z, Tensor::zeros(Shape{3})),
                       doctest::Contains("cross_entropy: labels must be i32"), cg::Error);
  CHECK_THROWS_WITH_AS(mse(nullptr, z, Tensor::zeros(Shape{4, 3})),
                       doctest::Contains("mse: input (3,4) and target (4,3) differ in shape"), cg::Error);
  CHECK_THROWS_WITH_AS(bce_with_logits(nullptr, Tensor::zeros(Shape{3}), Tensor::zeros(Shape{4})),
                       doctest::Contains("bce_with_logits: input (3) and target (4) differ in size"), cg::Error);
  CHECK_THROWS_WITH_AS(bce_with_logits(nullptr, z, Tensor::zeros(Shape{3, 4})),
                       doctest::Contains("logits must be (N) or (N,1), got (3,4)"), cg::Error);
  CHECK_THROWS_AS(mse(nullptr, Tensor::zeros(Shape{2}), Tensor::zeros(Shape{2}, DType::f64)), cg::Error);
  CHECK_THROWS_AS(accuracy(z, Tensor::from_labels({0})), cg::Error);
}
