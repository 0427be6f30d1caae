// The tape: gradients of a value used twice accumulate; values that need no
// gradient get none and their backward work is skipped; a swept tape cannot be
// swept again; dump() and the TapeGraph (ids, producers, consumers, statistics, Graphviz)
// print the graph with shapes and mark what needs a gradient.
#include "engine/tape.h"
#include "engine/tape_graph.h"
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

TEST_CASE("dump lists the ops with tensor ids and shapes and marks the inputs that need a gradient") {
  Tensor x = Tensor::zeros(Shape{8, 100}), w = Tensor::zeros(Shape{16, 100}), b = Tensor::zeros(Shape{3});
  w.set_name("G.fc.weight");
  w.set_requires_grad(true);
  Tape tape;
  Tensor h = linear(&tape, x, w, Tensor());
  Tensor y = linear(&tape, h, Tensor::zeros(Shape{3, 16}), b);
  const std::string d = tape.dump();
  INFO(d);
  CHECK(d.find("#0 linear(x=t0 (8,100), w=t1 G.fc.weight (16,100)*, b=-) -> t2 (8,16)  [linear_backward]") !=
        std::string::npos);
  CHECK(d.find("#1 linear(x=t2 (8,16)*, w=t3 (3,16), b=t4 (3)) -> t5 (8,3)") != std::string::npos);
  (void)y;
}

TEST_CASE("the tape as a graph: one id per tensor, producers and consumers, labels, statistics after backward") {
  std::mt19937 rng(2);
  Tensor x = cgtest::random_tensor(Shape{2, 3}, rng), w = cgtest::random_tensor(Shape{4, 3}, rng);
  w.set_name("L.weight");
  w.set_requires_grad(true);
  Tape tape;
  const Tensor h = linear(&tape, x, w, Tensor());
  const Tensor a = cg::tanh(&tape, h), c = sigmoid(&tape, h);  // h read twice
  const Tensor y = weighted_sum(&tape, {flatten(&tape, a), flatten(&tape, c)}, {1.0, 2.0});
  TapeGraph g = TapeGraph::of(tape, "test", {{x, "input"}, {y, "out"}});
  REQUIRE(g.ops.size() == 6);
  REQUIRE(g.tensors.size() == 8);  // x, w, h, a, c, flat a, flat c, y
  const TapeGraph::Node& nh = g.tensors[size_t(g.ops[0].output)];
  CHECK(nh.producer == 0);
  CHECK(nh.consumers == std::vector<int>{1, 2});
  CHECK(g.tensors[0].label == "input");
  CHECK(g.tensors[0].producer == -1);
  CHECK(g.tensors[1].param);
  CHECK(g.tensors[1].label == "L.weight");
  CHECK(g.ops[5].inputs.size() == 2);
  CHECK(g.ops[5].inputs[0].slot == "[0]");
  CHECK(g.ops[0].inputs[2].tensor == -1);  // no bias
  for (size_t i = 0; i < g.tensors.size(); ++i) CHECK(g.tensors[i].id == int(i));
  std::string t = g.text(false);
  INFO(t);
  CHECK(t.find("#1 tanh  [tanh_backward]\n  in   x       t2   f64 (2,4) on cpu *") != std::string::npos);
  CHECK(t.find("to #1 tanh, #2 sigmoid") != std::string::npos);
  CHECK(t.find("'input' (leaf)") != std::string::npos);
  CHECK(t.find("L.weight (parameter)") != std::string::npos);
  CHECK(t.find("'out' the root: backward starts here") != std::string::npos);
  tape.backward(y, Tensor::full(y.shape(), 1.0, DType::f64));
  g.capture_values();
  const TapeGraph::Node& ny = g.tensors.back();
  CHECK(ny.has_grad);
  CHECK(ny.grad.mean == 1.0);
  CHECK(ny.grad.std == 0.0);
  CHECK_FALSE(g.tensors[0].has_grad);  // x needs no gradient
  const auto wv = w.to_vector(), wg = w.grad().to_vector();
  double mx = -1e300, mn = 1e300;
  for (double v : wg) mx = std::max(mx, v), mn = std::min(mn, v);
  CHECK(g.tensors[1].grad.max == mx);
  CHECK(g.tensors[1].grad.min == mn);
  t = g.text(true);
  CHECK(t.find("value  mean") != std::string::npos);
  CHECK(t.find("grad   (needs none)") != std::string::npos);  // x
}

TEST_CASE("tensor statistics count NaN and Inf apart and leave them out of mean, std, min and max") {
  const TensorStats s = tensor_stats(Tensor::from({1, 3, std::nan(""), INFINITY}, Shape{4}, DType::f64));
  CHECK(s.n == 4);
  CHECK(s.non_finite == 2);
  CHECK(s.mean == 2.0);
  CHECK(s.std == 1.0);
  CHECK(s.min == 1.0);
  CHECK(s.max == 3.0);
}

TEST_CASE("to_dot writes one cluster per tape and one node per record and per tensor") {
  Tensor x = Tensor::from({1, 2}, Shape{1, 2}, DType::f64);
  x.set_requires_grad(true);
  Tape t1, t2;
  relu(&t1, cg::tanh(&t1, x));
  sigmoid(&t2, x);
  const TapeGraph a = TapeGraph::of(t1, "first \"tape\""), b = TapeGraph::of(t2, "second");
  const std::string dot = to_dot({&a, &b});
  INFO(dot);
  auto count = [&](const std::string& what) {
    size_t n = 0;
    for (size_t p = dot.find(what); p != std::string::npos; p = dot.find(what, p + 1)) ++n;
    return n;
  };
  CHECK(count("subgraph cluster_") == 2);
  CHECK(count("[shape=box") == 3);      // records
  CHECK(count("[shape=ellipse") == 5);  // x, tanh(x), relu(..) and x, sigmoid(x)
  CHECK(count(" -> ") == 6);            // one edge per input and per output
  CHECK(dot.find("label=\"first \\\"tape\\\" (2 records, 3 tensors)\"") != std::string::npos);
}

TEST_CASE("backward_from_grad sweeps from the gradient the root holds, as backward(root, seed) does") {
  const Tensor x = Tensor::from({1, 2}, Shape{1, 2}, DType::f64);
  const Tensor seed = Tensor::from({0.5, -2}, Shape{1, 2}, DType::f64);
  std::vector<double> want;
  for (int from_grad = 0; from_grad < 2; ++from_grad) {
    Tensor w = Tensor::from({3, 4, 5, 6}, Shape{2, 2}, DType::f64);
    w.set_requires_grad(true);
    Tape tape;
    Tensor y = linear(&tape, x, w, Tensor());  // (1,2): a root that needs a seed
    if (from_grad) {
      CHECK_THROWS_WITH_AS(tape.backward_from_grad(y), doctest::Contains("holds no gradient to sweep from"),
                           cg::Error);
      CHECK(!tape.consumed());  // the refusal swept nothing
      y.set_grad(seed.clone());
      tape.backward_from_grad(y);
      CHECK(w.grad().to_vector() == want);
      CHECK(y.grad().to_vector() == seed.to_vector());  // the root's gradient is left as it was
      CHECK_THROWS_WITH_AS(tape.backward_from_grad(y), doctest::Contains("already swept"), cg::Error);
    } else {
      tape.backward(y, seed);
      want = w.grad().to_vector();
      CHECK(want == std::vector<double>{0.5, 1, -2, -4});  // dW = seed^T x
    }
  }
}
