// batch_norm2d_act, BatchNorm2d with its ReLU/LeakyReLU fused in: bit-identical to the
// unfused ops (BN, then relu/leaky_relu) forward and backward in float and double, every
// mode, gradients against finite differences, accumulation, the slope it refuses, and the
// scale and shift a CPU training forward saves so that its backward need not read y.
#include <cmath>

#include "layers/activations.h"
#include "layers/batchnorm2d.h"
#include "support/check.h"

using namespace cg;

namespace {

enum class Mode { train, eval, batch };  // batch: batch statistics, no running ones (sampling)
const char* name(Mode m) { return m == Mode::train ? "train" : m == Mode::eval ? "eval" : "batch"; }

struct Inputs {
  Tensor x, g, b, rm, rv, dy;
};

Inputs make_inputs(const Shape& s, DType dt, uint32_t seed) {
  std::mt19937 rng(seed);
  const int64_t C = s[1];
  Inputs in;
  in.x = cgtest::random_tensor(s, rng, 2.0, dt);
  in.g = cgtest::random_tensor(Shape{C}, rng, 1.0, dt);
  in.b = cgtest::random_tensor(Shape{C}, rng, 1.0, dt);
  in.rm = cgtest::random_tensor(Shape{C}, rng, 0.5, dt);
  in.rv = Tensor::full(Shape{C}, 0.8, dt);
  in.dy = cgtest::random_tensor(s, rng, 1.0, dt);
  for (Tensor* t : {&in.x, &in.g, &in.b}) t->set_requires_grad(true);
  return in;
}

Tensor bn(Tape* tape, const Inputs& in, Tensor rm, Tensor rv, Mode m, bool fused, double slope) {
  const bool training = m != Mode::eval;
  if (m == Mode::batch) rm = rv = Tensor();
  if (fused) return batch_norm2d_act(tape, in.x, in.g, in.b, rm, rv, training, 0.1, 1e-5, slope);
  const Tensor y = batch_norm2d(tape, in.x, in.g, in.b, rm, rv, training, 0.1, 1e-5);
  return slope == 0.0 ? relu(tape, y) : leaky_relu(tape, y, slope);
}

struct Result {
  std::vector<double> out, dx, dg, db, rm, rv;
};

// On fresh copies of the inputs, so each run starts without gradients.
Result run(const Inputs& shared, Mode m, bool fused, double slope) {
  Inputs in = shared;
  for (Tensor* t : {&in.x, &in.g, &in.b}) {
    *t = t->clone();
    t->set_requires_grad(true);
  }
  Tensor rm = in.rm.clone(), rv = in.rv.clone();
  Tape tape;
  const Tensor out = bn(&tape, in, rm, rv, m, fused, slope);
  tape.backward(out, in.dy);
  return {out.to_vector(), in.x.grad().to_vector(), in.g.grad().to_vector(), in.b.grad().to_vector(),
          rm.to_vector(), rv.to_vector()};
}

}  // namespace

TEST_CASE("batch_norm2d_act is bit-identical to batch_norm2d then relu or leaky_relu, float and double") {
  for (DType dt : {DType::f32, DType::f64})
    for (Mode m : {Mode::train, Mode::eval, Mode::batch})
      for (double slope : {0.0, 0.2})
        // the last three: the model's plane sizes, 4x4 with channels for the 16-channel sums
        for (const Shape& s : {Shape{4, 3, 5, 5}, Shape{2, 5, 8, 8}, Shape{6, 4}, Shape{1, 2, 3, 3},
                               Shape{3, 37, 4, 4}, Shape{2, 4, 16, 16}, Shape{2, 3, 32, 32}}) {
          if (m != Mode::eval && s[0] * (s.ndim == 4 ? s[2] * s[3] : 1) < 2) continue;
          INFO(dtype_name(dt) << " mode " << name(m) << " slope " << slope << " shape " << s.str());
          const Inputs in = make_inputs(s, dt, uint32_t(s.numel() + 7 * int(m)));
          const Result fused = run(in, m, true, slope), plain = run(in, m, false, slope);
          CHECK_CLOSE_T(fused.out, plain.out, 0, 0);
          CHECK_CLOSE_T(fused.dx, plain.dx, 0, 0);
          CHECK_CLOSE_T(fused.dg, plain.dg, 0, 0);
          CHECK_CLOSE_T(fused.db, plain.db, 0, 0);
          CHECK_CLOSE_T(fused.rm, plain.rm, 0, 0);
          CHECK_CLOSE_T(fused.rv, plain.rv, 0, 0);
          // The activation did something: some outputs were clamped or scaled.
          int negative_in = 0;
          for (double v : plain.out) negative_in += v <= 0;
          CHECK(negative_in > 0);
        }
}

TEST_CASE("batch_norm2d_act gradients match finite differences, ReLU and LeakyReLU, every mode") {
  for (Mode m : {Mode::train, Mode::eval, Mode::batch})
    for (double slope : {0.0, 0.2}) {
      INFO("mode " << name(m) << " slope " << slope);
      const Inputs in = make_inputs(Shape{3, 2, 3, 4}, DType::f64, 11 + int(m));
      auto f = [&](Tape* tape) { return bn(tape, in, in.rm, in.rv, m, true, slope); };
      // The running statistics move in training mode; gradcheck evaluates f many times, which
      // is fine: the forward normalises with the batch's own statistics there.
      const auto gc = cgtest::gradcheck(f, {in.x, in.g, in.b}, 1e-5);
      INFO("gradcheck worst: " << gc.where << " rel err " << gc.max_rel_err);
      CHECK(gc.max_rel_err <= 1e-5);
    }
}

TEST_CASE("batch_norm2d_act backward accumulates into existing gradients") {
  const Inputs in = make_inputs(Shape{2, 3, 4, 4}, DType::f64, 5);
  auto pass = [&]() {
    Tape tape;
    const Tensor out = batch_norm2d_act(&tape, in.x, in.g, in.b, Tensor(), Tensor(), true, 0.1, 1e-5, 0.2);
    tape.backward(out, in.dy);
  };
  pass();
  const std::vector<std::vector<double>> once{in.x.grad().to_vector(), in.g.grad().to_vector(),
                                              in.b.grad().to_vector()};
  pass();
  Tensor x = in.x, g = in.g, b = in.b;
  cgtest::check_gradients_doubled({&x, &g, &b}, once);
}

TEST_CASE("batch_norm2d_act records one op named for the fusion and refuses a negative slope") {
  const Inputs in = make_inputs(Shape{2, 3, 2, 2}, DType::f64, 9);
  Tape tape;
  batch_norm2d_act(&tape, in.x, in.g, in.b, Tensor(), Tensor(), true, 0.1, 1e-5, 0.0);
  REQUIRE(tape.size() == 1);
  CHECK(std::string(tape.records()[0].op) == "batch_norm2d_act");
  CHECK(std::string(tape.records()[0].backward_name) == "batch_norm2d_act_backward");
  CHECK(tape.records()[0].arg("slope") == 0.0);
  CHECK_THROWS_WITH_AS(batch_norm2d_act(nullptr, in.x, in.g, in.b, Tensor(), Tensor(), true, 0.1, 1e-5, -0.1),
                       doctest::Contains("slope must be >= 0"), cg::Error);
}

TEST_CASE("a CPU training forward saves the scale and shift its backward takes the activation's sign from") {
  const Inputs in = make_inputs(Shape{2, 3, 4, 4}, DType::f32, 21);
  for (bool training : {true, false}) {
    CAPTURE(training);
    Tape tape;
    Tensor rm = in.rm.clone(), rv = in.rv.clone();
    const Tensor out = batch_norm2d_act(&tape, in.x, in.g, in.b, rm, rv, training, 0.1, 1e-5, 0.2);
    const Record& r = tape.records()[0];
    // Training: y = leaky(x * scale + shift) with the saved values, bit for bit; the
    // backward takes the sign from there (the bit-identity test above checks its result).
    CHECK(r.kept("scale").defined() == training);
    CHECK(r.kept("shift").defined() == training);
    if (!training) continue;
    const std::vector<double> x = in.x.to_vector(), y = out.to_vector();  // float values, exact in double
    const std::vector<double> sc = r.kept("scale").to_vector(), sh = r.kept("shift").to_vector();
    int checked = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const size_t c = i / 16 % 3;
      const float v = float(x[i]) * float(sc[c]) + float(sh[c]);
      CHECK(y[i] == double(v > 0 ? v : 0.2f * v));
      checked += v <= 0;
    }
    CHECK(checked > 0);
  }
  // The plain batch norm has no epilogue to undo: nothing saved.
  Tape plain;
  (void)batch_norm2d(&plain, in.x, in.g, in.b, Tensor(), Tensor(), true);
  CHECK_FALSE(plain.records()[0].kept("scale").defined());
}
