// The tape: gradients of a value used twice accumulate; values that need no
// gradient get none and their backward work is skipped; a swept tape cannot be
// swept again; dump() prints the graph with shapes and marks what needs a gradient.
#include "engine/tape.h"
#include "layers/activations.h"
#include "layers/linear.h"
#include "layers/shape_ops.h"
#include "support/check.h"

using namespace cg;

namespace {

int g_calls = 0;
// A stand-in op for counting: its backward passes the gradient straight through.
void counting_backward(Record& r) {
  ++g_calls;
  if (r.needs_grad(0)) r.grad_of(0).add_(r.dout());
}

Tensor counting_op(Tape* tape, const Tensor& x) {
  Tensor out = x.clone();
  TAPE_RECORD(tape, "counting", counting_backward, ({x}), out, ({}), ({}));
  return out;
}

// a (n,k) @ b (k,m) in double, row-major.
std::vector<double> matmul(const std::vector<double>& a, const std::vector<double>& b, int n, int k, int m,
                           bool ta = false, bool tb = false) {
  std::vector<double> c(static_cast<size_t>(n * m), 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < m; ++j)
      for (int p = 0; p < k; ++p)
        c[static_cast<size_t>(i * m + j)] += a[static_cast<size_t>(ta ? p * n + i : i * k + p)] *
                                             b[static_cast<size_t>(tb ? j * k + p : p * m + j)];
  return c;
}

}  // namespace

TEST_CASE("a value used twice accumulates both gradients") {
  // y = linear(linear(x, W), W): W is used twice, so dW = dy^T h + dh^T x with h = x W^T, dh = dy W.
  std::mt19937 rng(5);
  const int B = 3, C = 4;
  Tensor x = cgtest::random_tensor(Shape{B, C}, rng), w = cgtest::random_tensor(Shape{C, C}, rng);
  x.set_requires_grad(true);
  w.set_requires_grad(true);
  Tape tape;
  Tensor h = linear(&tape, x, w, Tensor());
  Tensor y = linear(&tape, h, w, Tensor());
  const Tensor dy = cgtest::random_tensor(Shape{B, C}, rng);
  tape.backward(y, dy);
  const auto xv = x.to_vector(), wv = w.to_vector(), hv = h.to_vector(), dyv = dy.to_vector();
  const auto dh = matmul(dyv, wv, B, C, C);
  auto dw = matmul(dyv, hv, C, B, C, true);
  const auto dw2 = matmul(dh, xv, C, B, C, true);
  for (size_t i = 0; i < dw.size(); ++i) dw[i] += dw2[i];
  CHECK_CLOSE_T(w.grad().to_vector(), dw, 1e-12, 1e-12);
  CHECK_CLOSE_T(x.grad().to_vector(), matmul(dh, wv, B, C, C), 1e-12, 1e-12);
  // And the same input feeding two branches that are summed: dx = dy1 W1 + dy2 W2.
  Tensor w2 = cgtest::random_tensor(Shape{C, C}, rng);
  Tensor x2 = cgtest::random_tensor(Shape{B, C}, rng);
  x2.set_requires_grad(true);
  Tape t2;
  Tensor s = weighted_sum(&t2, {linear(&t2, x2, w, Tensor()), linear(&t2, x2, w2, Tensor())}, {1.0, 2.0});
  t2.backward(s, dy);
  auto want = matmul(dyv, wv, B, C, C);
  const auto other = matmul(dyv, w2.to_vector(), B, C, C);
  for (size_t i = 0; i < want.size(); ++i) want[i] += 2.0 * other[i];
  CHECK_CLOSE_T(x2.grad().to_vector(), want, 1e-12, 1e-12);
}

TEST_CASE("grad_for_write: a fresh CPU buffer for the first writer, the existing one after") {
  Tensor x = Tensor::from({1.0, -2.0, 3.0}, Shape{3}, DType::f64);
  x.set_requires_grad(true);
  Record r;
  r.inputs = {x};
  r.input_names = {"x"};
  bool fresh = false;
  Tensor g1 = r.grad_for_write("x", &fresh);
  CHECK(fresh);  // no gradient yet: a new buffer, to be assigned
  CHECK(g1.shape() == x.shape());
  CHECK(x.grad().defined());  // it is the input's gradient from now on
  g1.zero_();
  r.grad_for_write("x", &fresh);
  CHECK_FALSE(fresh);  // a second writer accumulates
  Tensor y = Tensor::from({1.0}, Shape{1}, DType::f64);  // needs no gradient: none made
  Record ry;
  ry.inputs = {y};
  ry.input_names = {"y"};
  fresh = true;
  CHECK_FALSE(ry.grad_for_write("y", &fresh).defined());
  CHECK_FALSE(fresh);
  CHECK_FALSE(y.grad().defined());
}

TEST_CASE("an op that assigns a fresh gradient and one that accumulates give the sum, in either order") {
  // x feeds relu and tanh; whichever backward runs first assigns, the other adds onto it.
  for (bool relu_last : {true, false}) {
    CAPTURE(relu_last);
    Tensor x = Tensor::from({-1.5, -0.5, 0.25, 2.0}, Shape{4}, DType::f64);
    x.set_requires_grad(true);
    Tape tape;
    const Tensor a = relu_last ? cg::tanh(&tape, x) : relu(&tape, x);
    const Tensor b = relu_last ? relu(&tape, x) : cg::tanh(&tape, x);
    tape.backward(weighted_sum(&tape, {a, b}, {1.0, 1.0}), Tensor::full(Shape{4}, 1.0, DType::f64));
    const auto xv = x.to_vector(), gv = x.grad().to_vector();
    for (size_t i = 0; i < xv.size(); ++i) {
      const double th = std::tanh(xv[i]);
      CHECK(gv[i] == doctest::Approx((xv[i] > 0 ? 1.0 : 0.0) + (1 - th * th)).epsilon(1e-14));
    }
  }
}

TEST_CASE("values that need no gradient get none, and their backward work is skipped") {
  std::mt19937 rng(6);
  Tensor x = cgtest::random_tensor(Shape{2, 3}, rng), w = cgtest::random_tensor(Shape{4, 3}, rng);
  w.set_requires_grad(true);  // x (the real images) needs no gradient
  Tape tape;
  Tensor frozen = counting_op(&tape, x);  // no input needs a gradient: not recorded
  CHECK(tape.size() == 0);
  CHECK_FALSE(frozen.requires_grad());
  Tensor y = linear(&tape, frozen, w, Tensor());
  CHECK(tape.size() == 1);
  Tensor side = counting_op(&tape, w);  // recorded, but the root does not depend on it
  CHECK(tape.size() == 2);
  (void)side;
  g_calls = 0;
  tape.backward(y, Tensor::full(Shape{2, 4}, 1.0, DType::f64));
  CHECK(g_calls == 0);  // nothing flowed into side's output, so its backward never ran
  CHECK_FALSE(x.grad().defined());
  CHECK_FALSE(frozen.grad().defined());
  CHECK(w.grad().defined());
  // A frozen weight (D during the G step): the input still gets its gradient, the weight none.
  Tensor x2 = cgtest::random_tensor(Shape{2, 3}, rng), w2 = cgtest::random_tensor(Shape{4, 3}, rng);
  x2.set_requires_grad(true);
  Tape t2;
  Tensor mid = counting_op(&t2, x2);
  Tensor y2 = linear(&t2, mid, w2, Tensor());
  g_calls = 0;
  t2.backward(y2, Tensor::full(Shape{2, 4}, 1.0, DType::f64));
  CHECK(g_calls == 1);
  CHECK(x2.grad().defined());
  CHECK_FALSE(w2.grad().defined());
}

TEST_CASE("a swept tape cannot be swept again or recorded on, and clear() makes it usable") {
  Tensor x = Tensor::from({1, 2}, Shape{1, 2}, DType::f64), w = Tensor::from({3, 4}, Shape{1, 2}, DType::f64);
  w.set_requires_grad(true);
  Tape tape;
  Tensor y = linear(&tape, x, w, Tensor());
  tape.backward(y);
  CHECK(tape.consumed());
  CHECK(w.grad().to_vector() == std::vector<double>{1, 2});
  CHECK_THROWS_WITH_AS(tape.backward(y), doctest::Contains("backward over a tape that was already swept"), cg::Error);
  CHECK_THROWS_WITH_AS(linear(&tape, x, w, Tensor()), doctest::Contains("already swept"), cg::Error);
  CHECK(w.grad().to_vector() == std::vector<double>{1, 2});  // the failed sweep added nothing
  tape.clear();
  CHECK(tape.size() == 0);
  Tensor y2 = linear(&tape, x, w, Tensor());
  tape.backward(y2);
  CHECK(w.grad().to_vector() == std::vector<double>{2, 4});  // accumulated across tapes
}

TEST_CASE("backward preconditions") {
  Tensor x = Tensor::from({1, 2}, Shape{1, 2}, DType::f64), w = Tensor::from({3, 4, 5, 6}, Shape{2, 2}, DType::f64);
  Tape tape;
  Tensor y = linear(&tape, x, w, Tensor());
  CHECK_THROWS_WITH_AS(tape.backward(y), doctest::Contains("does not depend on anything that needs a gradient"),
                       cg::Error);
  w.set_requires_grad(true);
  Tensor y2 = linear(&tape, x, w, Tensor());
  CHECK_THROWS_WITH_AS(tape.backward(y2), doctest::Contains("needs a seed gradient"), cg::Error);
  CHECK_THROWS_WITH_AS(tape.backward(y2, Tensor::zeros(Shape{2}, DType::f64)),
                       doctest::Contains("backward: seed has shape (2), expected (1,2)"), cg::Error);
}

TEST_CASE("dump lists the ops with shapes and marks the inputs that need a gradient") {
  Tensor x = Tensor::zeros(Shape{8, 100}), w = Tensor::zeros(Shape{16, 100}), b = Tensor::zeros(Shape{3});
  w.set_name("G.fc.weight");
  w.set_requires_grad(true);
  Tape tape;
  Tensor h = linear(&tape, x, w, Tensor());
  Tensor y = linear(&tape, h, Tensor::zeros(Shape{3, 16}), b);
  const std::string d = tape.dump();
  INFO(d);
  CHECK(d.find("#0 linear((8,100), G.fc.weight:(16,100)*, -) -> (8,16)  [linear_backward]") != std::string::npos);
  CHECK(d.find("#1 linear((8,16)*, (3,16), (3)) -> (8,3)") != std::string::npos);
  (void)y;
}
