// Dropout: the kernels against the reference loops (masks bit-identical, any offset),
// the drop rate, the stream it consumes, eval mode and p = 0 as the identity, the
// backward (mask * scale, accumulating, skipped without a gradient), gradcheck, bad input.
#include <cmath>

#include "kernels/common/dropout.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cpu/reference/dropout_ref.h"
#include "layers/dropout.h"
#include "layers/gradcheck_ops.h"
#include "support/check.h"

using namespace cg;

TEST_CASE("dropout kernels match the reference loops bit for bit, float and double, at any offset") {
  for (uint64_t offset : {0ull, 1ull, 3ull, 4ull, 1001ull, (1ull << 40) + 2}) {
    for (int64_t n : {1, 5, 64, 1000, 70001}) {
      INFO("offset " << offset << " n " << n);
      std::mt19937 rng(uint32_t(n + offset));
      const Tensor x = cgtest::random_tensor(Shape{n}, rng, 2.0);
      const uint32_t th = common::dropout_threshold(0.3);
      std::vector<uint8_t> m(static_cast<size_t>(n)), mref(static_cast<size_t>(n));
      std::vector<double> out(static_cast<size_t>(n)), ref(static_cast<size_t>(n));
      cpu::dropout_forward(out.data(), m.data(), x.data<double>(), n, 42, offset, th, common::dropout_scale<double>(0.3));
      cpu::ref::dropout_forward(ref.data(), mref.data(), x.data<double>(), n, 42, offset, th,
                                common::dropout_scale<double>(0.3));
      CHECK(m == mref);
      CHECK(out == ref);
      const Tensor xf = x.to(DType::f32);
      std::vector<float> outf(static_cast<size_t>(n)), reff(static_cast<size_t>(n));
      cpu::dropout_forward(outf.data(), m.data(), xf.data<float>(), n, 42, offset, th, common::dropout_scale<float>(0.3));
      cpu::ref::dropout_forward(reff.data(), mref.data(), xf.data<float>(), n, 42, offset, th,
                                common::dropout_scale<float>(0.3));
      CHECK(m == mref);
      CHECK(outf == reff);
    }
  }
}

TEST_CASE("dropout drops a fraction p of the elements and scales the rest by 1/(1-p)") {
  for (double p : {0.1, 0.3, 0.5, 0.9}) {
    INFO("p " << p);
    const int64_t n = 400000;
    Tensor x = Tensor::full(Shape{4, 100, 1000}, 1.0, DType::f64);
    Philox rng(7);
    const Tensor y = dropout(nullptr, x, p, true, rng);
    int64_t dropped = 0, wrong = 0;
    for (double v : y.to_vector()) {
      if (v == 0) ++dropped;
      else if (v != 1.0 / (1.0 - p)) ++wrong;
    }
    CHECK(wrong == 0);
    // Binomial(n, p): 5 standard deviations.
    CHECK(std::fabs(double(dropped) / double(n) - p) < 5 * std::sqrt(p * (1 - p) / double(n)));
    CHECK(rng.offset() == uint64_t(n));  // the layer consumed exactly its n draws
  }
}

TEST_CASE("dropout's mask is a function of (seed, offset): same stream, same mask, and the next call a new one") {
  std::mt19937 gen(3);
  const Tensor x = cgtest::random_tensor(Shape{2, 3, 5, 7}, gen, 1.0, DType::f32);
  Philox a(11), b(11), c(12);
  const Tensor y1 = dropout(nullptr, x, 0.5, true, a), y2 = dropout(nullptr, x, 0.5, true, b);
  CHECK(y1.to_vector() == y2.to_vector());
  CHECK(a.offset() == 212);  // 210 draws, rounded up to whole Philox blocks of 4
  const Tensor y3 = dropout(nullptr, x, 0.5, true, a);  // a has moved on
  CHECK(y3.to_vector() != y1.to_vector());
  CHECK(dropout(nullptr, x, 0.5, true, c).to_vector() != y1.to_vector());  // another seed
}

TEST_CASE("dropout in eval mode or with p 0 is the identity: the same tensor, nothing recorded or drawn") {
  Tensor x = Tensor::from({1, 2, 3}, Shape{3}, DType::f64);
  x.set_requires_grad(true);
  Philox rng(5);
  Tape tape;
  CHECK(dropout(&tape, x, 0.5, false, rng).same(x));
  CHECK(dropout(&tape, x, 0.0, true, rng).same(x));
  CHECK(tape.size() == 0);
  CHECK(rng.offset() == 0);
}

TEST_CASE("dropout backward: dx = mask * dout / (1-p), accumulating, recorded with its mask and p") {
  std::mt19937 gen(9);
  Tensor x = cgtest::random_tensor(Shape{3, 4, 5}, gen);
  x.set_requires_grad(true);
  const Tensor seed = cgtest::random_tensor(x.shape(), gen);
  std::vector<double> once;
  for (int pass = 0; pass < 2; ++pass) {
    Philox rng(21);
    Tape tape;
    const Tensor y = dropout(&tape, x, 0.25, true, rng);
    REQUIRE(tape.size() == 1);
    const Record& r = tape.records()[0];
    CHECK(std::string(r.op) == "dropout");
    CHECK(std::string(r.backward_name) == "dropout_backward");
    CHECK(r.arg("p") == 0.25);
    const Tensor& mask = r.kept("mask");
    CHECK(mask.dtype() == DType::u8);
    const auto mv = mask.to_vector(), yv = y.to_vector(), xv = x.to_vector();
    for (size_t i = 0; i < xv.size(); ++i) CHECK(yv[i] == (mv[i] ? xv[i] * (1.0 / 0.75) : 0.0));
    tape.backward(y, seed);
    if (pass == 0) {
      once = x.grad().to_vector();
      const auto sv = seed.to_vector();
      for (size_t i = 0; i < sv.size(); ++i) CHECK(once[i] == doctest::Approx(mv[i] ? sv[i] / 0.75 : 0.0));
    }
  }
  cgtest::check_gradients_doubled({&x}, {once});
}

TEST_CASE("dropout passes its gradcheck entry (a fixed mask, f64 and f32)") {
  const auto entries = select_gradcheck_ops({"dropout"});
  REQUIRE(entries.size() == 1);
  for (DType dt : {DType::f64, DType::f32}) {
    const OpGradcheckResult r = run_op_gradcheck(entries[0], GradcheckTarget{dt}, 4);
    INFO(format_op_gradcheck(r));
    CHECK(r.ok);
  }
}

TEST_CASE("dropout refuses a p outside 0 to 1 (1 excluded) and a non-float input, naming the op") {
  Philox rng(1);
  const Tensor x = Tensor::zeros(Shape{4});
  CHECK_THROWS_WITH_AS(dropout(nullptr, x, 1.0, true, rng), doctest::Contains("dropout: p must lie in [0, 1), got 1"),
                       cg::Error);
  CHECK_THROWS_WITH_AS(dropout(nullptr, x, -0.1, false, rng), doctest::Contains("dropout: p must lie in [0, 1)"),
                       cg::Error);
  CHECK_THROWS_WITH_AS(dropout(nullptr, Tensor::from_labels({1, 2}), 0.5, true, rng),
                       doctest::Contains("dropout: needs f32 or f64"), cg::Error);
}
