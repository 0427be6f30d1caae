// Adam: three steps on a 3-element problem against values worked out by hand,
// many steps against a plain double loop (f64 and f32 stores), padding that stays
// zero, resuming from saved moments, and the errors.
#include <cmath>

#include "engine/adam.h"
#include "support/check.h"

using namespace cg;

namespace {

void set(Tensor t, const std::vector<double>& v) { t.copy_(Tensor::from(v, t.shape(), t.dtype())); }

// The textbook form with bias-corrected moments, in double.
struct RefAdam {
  std::vector<double> p, m, v;
  int t = 0;
  void step(const std::vector<double>& g, const AdamConfig& c) {
    ++t;
    for (size_t i = 0; i < p.size(); ++i) {
      m[i] = c.beta1 * m[i] + (1 - c.beta1) * g[i];
      v[i] = c.beta2 * v[i] + (1 - c.beta2) * g[i] * g[i];
      const double mhat = m[i] / (1 - std::pow(c.beta1, t)), vhat = v[i] / (1 - std::pow(c.beta2, t));
      p[i] -= c.lr * mhat / (std::sqrt(vhat) + c.eps);
    }
  }
};

}  // namespace

TEST_CASE("adam: three steps match values worked out by hand") {
  ParamStore ps;
  Tensor a = ps.param("a", Shape{2}), b = ps.param("b", Shape{1});
  ps.finalize(Device::cpu, DType::f64);
  set(a, {1.0, -2.0});
  set(b, {0.5});
  Adam opt(ps, AdamConfig{0.1, 0.9, 0.999, 1e-8});
  auto grads = [&](double a0, double a1, double b0) {
    ps.zero_grad();
    set(a.grad(), {a0, a1});
    set(b.grad(), {b0});
    opt.step();
  };
  // Step 1: m = 0.1 g, v = 0.001 g^2, so mhat = g, vhat = g^2 and each parameter moves by
  // lr * g / (|g| + eps) = 0.1 * sign(g) (slightly less through eps); g = 0 leaves b alone.
  grads(0.5, -1.0, 0.0);
  CHECK(opt.steps() == 1);
  CHECK_CLOSE_T(a.to_vector(), (std::vector<double>{1.0 - 0.1 * 0.5 / (0.5 + 1e-8), -2.0 + 0.1 / (1.0 + 1e-8)}),
                1e-15, 0);
  CHECK(b.item() == 0.5);
  // Step 2, g = (1, -1, 2). a0: m = 0.9*0.05 + 0.1*1 = 0.145, v = 0.999*0.00025 + 0.001 = 0.00124975,
  //   mhat = 0.145/0.19 = 0.763158, vhat = 0.00124975/0.001999 = 0.625188, step 0.1*0.763158/0.790688
  //   = 0.0965182, a0 = 0.9 - 0.0965182 = 0.8034818.
  // a1: m = -0.09 - 0.1 = -0.19, v = 0.000999 + 0.001 = 0.001999: mhat = -1, vhat = 1, a1 = -1.9 + 0.1.
  // b0: m = 0.2, v = 0.004, mhat = 1.052632, vhat = 2.001001, step 0.1*1.052632/1.414567 = 0.0744137.
  grads(1.0, -1.0, 2.0);
  CHECK_CLOSE_T(a.to_vector(), (std::vector<double>{0.803481800638509, -1.800000002000001}), 1e-12, 0);
  CHECK_CLOSE_T(b.to_vector(), (std::vector<double>{0.425586318169354}), 1e-12, 0);
  // Step 3, g = (-0.5, 0, 2): a0: m = 0.0805, v = 0.0014985, bc1 = 0.271, bc2 = 0.002997001.
  grads(-0.5, 0.0, 2.0);
  CHECK_CLOSE_T(a.to_vector(), (std::vector<double>{0.761472870875578, -1.722699713115790}), 1e-12, 0);
  CHECK_CLOSE_T(b.to_vector(), (std::vector<double>{0.339740063118375}), 1e-12, 0);
  // m: 0.9*0.145 - 0.05, 0.9*-0.19; v: 0.999*0.00124975 + 0.001*0.25, 0.999*0.001999.
  const auto m = opt.m().slice_view(0, Shape{2}).to_vector(), v = opt.v().slice_view(0, Shape{2}).to_vector();
  CHECK_CLOSE_T(m, (std::vector<double>{0.0805, -0.171}), 1e-15, 1e-12);
  CHECK_CLOSE_T(v, (std::vector<double>{0.00149850025, 0.001997001}), 1e-15, 1e-12);
}

TEST_CASE("adam: many steps match a plain double loop, and padding stays zero") {
  for (DType dt : {DType::f64, DType::f32}) {
    INFO("dtype " << dtype_name(dt));
    ParamStore ps;
    std::vector<Tensor> params = {ps.param("w1", Shape{7}), ps.param("w2", Shape{3, 4}), ps.param("b", Shape{1})};
    ps.finalize(Device::cpu, dt);
    std::mt19937 rng(11);
    RefAdam ref;
    for (Tensor& p : params) {
      Tensor r = cgtest::random_tensor(p.shape(), rng, 1.0, dt);
      p.copy_(r);
      for (double x : r.to_vector()) ref.p.push_back(x);
    }
    ref.m.assign(ref.p.size(), 0.0);
    ref.v.assign(ref.p.size(), 0.0);
    AdamConfig cfg{2e-2, 0.5, 0.999, 1e-8};
    Adam opt(ps, cfg);
    for (int step = 0; step < 25; ++step) {
      ps.zero_grad();
      std::vector<double> g;
      for (Tensor& p : params) {
        Tensor r = cgtest::random_tensor(p.shape(), rng, step % 5 == 0 ? 10.0 : 0.1, dt);
        p.grad().copy_(r);
        for (double x : r.to_vector()) g.push_back(x);
      }
      opt.step();
      ref.step(g, cfg);
    }
    std::vector<double> got;
    for (Tensor& p : params)
      for (double x : p.to_vector()) got.push_back(x);
    const double atol = dt == DType::f64 ? 1e-13 : 2e-6;
    CHECK_CLOSE_T(got, ref.p, atol, 0);
    // Everything outside the parameters' slices is alignment padding: never moves.
    double padding = 0;
    const auto flat = ps.flat().to_vector();
    for (double x : flat) padding += std::fabs(x);
    for (double x : got) padding -= std::fabs(x);
    CHECK(std::fabs(padding) < 1e-9);
  }
}

TEST_CASE("adam: resuming from saved moments and step count continues exactly") {
  auto make = [](ParamStore& ps) {
    ps.param("w", Shape{5});
    ps.finalize(Device::cpu, DType::f32);
  };
  ParamStore p1, p2;
  make(p1);
  make(p2);
  std::mt19937 rng(3);
  p1.flat().copy_(cgtest::random_tensor(p1.flat().shape(), rng, 1.0, DType::f32));
  Adam o1(p1, AdamConfig{});
  std::vector<Tensor> grads;
  for (int i = 0; i < 6; ++i) grads.push_back(cgtest::random_tensor(p1.flat().shape(), rng, 1.0, DType::f32));
  for (int i = 0; i < 3; ++i) {
    p1.flat_grad().copy_(grads[i]);
    o1.step();
  }
  // "Checkpoint": parameters, moments and step count into a fresh store and optimizer.
  p2.flat().copy_(p1.flat());
  Adam o2(p2, AdamConfig{});
  o2.m().copy_(o1.m());
  o2.v().copy_(o1.v());
  o2.set_steps(o1.steps());
  for (int i = 3; i < 6; ++i) {
    p1.flat_grad().copy_(grads[i]);
    p2.flat_grad().copy_(grads[i]);
    o1.step();
    o2.step();
  }
  CHECK(p1.flat().to_vector() == p2.flat().to_vector());
  CHECK(o2.steps() == 6);
}

TEST_CASE("adam: errors are clear") {
  ParamStore ps;
  ps.param("w", Shape{3});
  CHECK_THROWS_WITH_AS(Adam(ps, AdamConfig{}), doctest::Contains("must be finalized"), cg::Error);
  ps.finalize(Device::cpu);
  Adam opt(ps, AdamConfig{});
  opt.config().beta1 = 1.0;
  CHECK_THROWS_WITH_AS(opt.step(), doctest::Contains("Adam: invalid settings"), cg::Error);
  CHECK(opt.steps() == 0);
}

TEST_CASE("adam: the CPU step leaves the gradients zero and a halted step leaves them to zero_grad") {
  ParamStore ps;
  Tensor a = ps.param("a", Shape{3});
  ps.finalize(Device::cpu, DType::f32);
  Adam opt(ps, AdamConfig{0.1, 0.9, 0.999, 1e-8});
  ps.zero_grad();
  set(a.grad(), {0.5, -1.0, 2.0});
  opt.step();
  CHECK(a.grad().to_vector() == std::vector<double>{0.0, 0.0, 0.0});
  const std::vector<double> after1 = a.to_vector();
  // The next step's gradients start from those zeros, as after a memset.
  ps.zero_grad();
  a.grad().data<float>()[1] += 3.0f;  // a kernel accumulating into the gradient
  CHECK(a.grad().to_vector() == std::vector<double>{0.0, 3.0, 0.0});
  // A halted step updates nothing and keeps the gradients: zero_grad must clear them.
  Tensor halt = Tensor::from({1.0}, Shape{1}, DType::i32);
  opt.step(halt);
  CHECK(a.to_vector() == after1);
  CHECK(a.grad().to_vector() == std::vector<double>{0.0, 3.0, 0.0});
  ps.zero_grad();
  CHECK(a.grad().to_vector() == std::vector<double>{0.0, 0.0, 0.0});
}
