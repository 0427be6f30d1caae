// Activations: forward against closed forms (PyTorch's conventions at 0),
// stability at +-100, gradients against finite differences, float vs double.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/common/activations.h"
#include "layers/activations.h"
#include "support/check.h"

using namespace cg;

namespace {
using ActFn = Tensor (*)(Tape*, const Tensor&);
Tensor leaky02(Tape* t, const Tensor& x) { return leaky_relu(t, x, 0.2); }
Tensor leaky_neg(Tape* t, const Tensor& x) { return leaky_relu(t, x, -0.5); }
struct Case {
  const char* name;
  ActFn fn;
  double (*ref)(double);
};
const Case kCases[] = {
    {"relu", relu, [](double x) { return x > 0 ? x : 0.0; }},
    {"leaky_relu(0.2)", leaky02, [](double x) { return x > 0 ? x : 0.2 * x; }},
    {"leaky_relu(-0.5)", leaky_neg, [](double x) { return x > 0 ? x : -0.5 * x; }},
    {"tanh", cg::tanh, [](double x) { return std::tanh(x); }},
    {"sigmoid", cg::sigmoid, [](double x) { return 1.0 / (1.0 + std::exp(-x)); }},
};
const std::vector<double> kProbe = {-100, -20, -3, -1, -0.5, 0, 1e-3, 0.5, 1, 3, 20, 100};
}  // namespace

TEST_CASE("activations match closed forms, including 0 and +-100") {
  for (const Case& c : kCases) {
    INFO("activation " << c.name);
    Tensor x = Tensor::from(kProbe, Shape{3, 4}, DType::f64);
    Tensor y = c.fn(nullptr, x);
    CHECK(y.shape() == x.shape());
    std::vector<double> ref;
    for (double v : kProbe) ref.push_back(c.ref(v));
    CHECK_CLOSE_T(y.to_vector(), ref, 1e-300, 1e-14);
    Tensor yf = c.fn(nullptr, x.to(DType::f32));
    for (double v : yf.to_vector()) CHECK(std::isfinite(v));
    CHECK_CLOSE_T(yf.to_vector(), ref, 1e-30, 1e-6);
  }
}

namespace {
// Distance in units in the last place between two finite floats of any sign.
int64_t ulp_distance(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  const int64_t ka = ia < 0 ? int64_t(INT32_MIN) - ia : ia, kb = ib < 0 ? int64_t(INT32_MIN) - ib : ib;
  return ka > kb ? ka - kb : kb - ka;
}
}  // namespace

TEST_CASE("the CPU's float tanh (a rational form) is within 6 ulp of tanh everywhere, odd, and keeps NaN") {
  int64_t worst = 0;
  float at = 0;
  // Every 389th float from 0 to 12 (past where tanh rounds to 1), both signs: ~2.8 million points.
  uint32_t top;
  const float twelve = 12.0f;
  std::memcpy(&top, &twelve, 4);
  for (uint32_t bits = 0; bits <= top; bits += 389) {
    float x;
    std::memcpy(&x, &bits, 4);
    const float y = common::tanh_rational(x), ref = float(std::tanh(double(x)));
    const int64_t d = ulp_distance(y, ref);
    if (d > worst) worst = d, at = x;
    REQUIRE(common::tanh_rational(-x) == -y);
  }
  INFO("worst " << worst << " ulp at x = " << at);
  CHECK(worst <= 6);
  CHECK(common::tanh_rational(0.0f) == 0.0f);
  CHECK(common::tanh_rational(1e-30f) == 1e-30f);
  CHECK(common::tanh_rational(100.0f) == doctest::Approx(1.0).epsilon(1e-6));
  CHECK(std::isnan(common::tanh_rational(std::nanf(""))));
  CHECK(common::tanh_rational(-INFINITY) == doctest::Approx(-1.0).epsilon(1e-6));
}

TEST_CASE("activation derivatives at 0 follow PyTorch: relu 0, leaky_relu slope") {
  Tensor x = Tensor::zeros(Shape{1}, DType::f64);
  x.set_requires_grad(true);
  Tape t1;
  t1.backward(relu(&t1, x));
  CHECK(x.grad().item() == 0.0);
  x.grad().zero_();
  Tape t2;
  t2.backward(leaky_relu(&t2, x, 0.2));
  CHECK(x.grad().item() == doctest::Approx(0.2).epsilon(1e-15));
}

TEST_CASE("sigmoid and tanh gradients stay finite at +-100") {
  for (ActFn fn : {ActFn(cg::sigmoid), ActFn(cg::tanh)}) {
    for (DType dt : {DType::f32, DType::f64}) {
      Tensor x = Tensor::from({-100, 100}, Shape{2}, dt);
      x.set_requires_grad(true);
      Tape tape;
      Tensor y = fn(&tape, x);
      tape.backward(y, Tensor::full(Shape{2}, 1.0, dt));
      for (double g : x.grad().to_vector()) {
        CHECK(std::isfinite(g));
        CHECK(g >= 0.0);
        CHECK(g < 1e-30);
      }
    }
  }
}

TEST_CASE("activation gradients match finite differences") {
  for (const Case& c : kCases) {
    for (const Shape& s : {Shape{1}, Shape{3, 5}, Shape{2, 3, 4, 5}, Shape{1, 7, 3, 1}}) {
      INFO("activation " << c.name << ", shape " << s.str());
      std::mt19937 rng(static_cast<uint32_t>(s.numel()));
      Tensor x = cgtest::random_tensor(s, rng, 3.0);
      x.set_requires_grad(true);
      auto f = [&](Tape* tape) { return c.fn(tape, x); };
      CHECK_GRADCHECK(f, (std::vector<Tensor>{x}), 1e-6);
    }
  }
}

TEST_CASE("activations chain and accumulate: tanh(x) + sigmoid(x) sends both gradients to x") {
  std::mt19937 rng(4);
  Tensor x = cgtest::random_tensor(Shape{4, 3}, rng, 2.0);
  x.set_requires_grad(true);
  Tape tape;
  Tensor a = cg::tanh(&tape, x), b = cg::sigmoid(&tape, leaky_relu(&tape, x, 0.2));
  tape.backward(a, Tensor::full(a.shape(), 1.0, DType::f64));
  Tape tape2;  // a second tape adds onto the same gradient
  Tensor b2 = cg::sigmoid(&tape2, leaky_relu(&tape2, x, 0.2));
  tape2.backward(b2, Tensor::full(b2.shape(), 1.0, DType::f64));
  auto xv = x.to_vector(), g = x.grad().to_vector();
  for (size_t i = 0; i < xv.size(); ++i) {
    const double th = std::tanh(xv[i]);
    const double z = xv[i] > 0 ? xv[i] : 0.2 * xv[i];
    const double s = 1 / (1 + std::exp(-z));
    const double want = (1 - th * th) + s * (1 - s) * (xv[i] > 0 ? 1.0 : 0.2);
    CHECK(g[i] == doctest::Approx(want).epsilon(1e-12));
  }
  (void)b;
}

TEST_CASE("activations: float and double agree to float precision, forward and backward") {
  for (const Case& c : kCases) {
    INFO("activation " << c.name);
    std::mt19937 rng(8);
    Tensor xd = cgtest::random_tensor(Shape{4, 3, 5, 5}, rng, 4.0), dyd = cgtest::random_tensor(xd.shape(), rng);
    Tensor xf = xd.to(DType::f32), dyf = dyd.to(DType::f32);
    xd.set_requires_grad(true);
    xf.set_requires_grad(true);
    Tape td, tf;
    Tensor yd = c.fn(&td, xd), yf = c.fn(&tf, xf);
    CHECK_CLOSE_T(yf, yd, 1e-6, 1e-6);
    td.backward(yd, dyd);
    tf.backward(yf, dyf);
    CHECK_CLOSE_T(xf.grad(), xd.grad(), 1e-6, 1e-5);
  }
}

TEST_CASE("activations reject non-float input with a message naming the op") {
  Tensor labels = Tensor::from_labels({1, 2});
  CHECK_THROWS_WITH_AS(relu(nullptr, labels), doctest::Contains("relu: needs f32 or f64"), cg::Error);
  CHECK_THROWS_WITH_AS(cg::tanh(nullptr, Tensor()), doctest::Contains("tanh: input is undefined"), cg::Error);
}
