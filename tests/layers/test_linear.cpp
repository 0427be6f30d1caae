// Linear: forward against the direct-loop reference (kernels/cpu/reference/), gradients
// against finite differences, backward accumulating into existing gradients like the other layers.
#include "kernels/cpu/reference/linear_ref.h"
#include "layers/linear.h"
#include "support/check.h"

using namespace cg;

TEST_CASE("linear forward matches a direct loop") {
  std::mt19937 rng(1);
  const int64_t B = 3, C = 5, OC = 4;
  Tensor x = cgtest::random_tensor(Shape{B, C}, rng), w = cgtest::random_tensor(Shape{OC, C}, rng),
         b = cgtest::random_tensor(Shape{OC}, rng);
  Tensor out = linear(nullptr, x, w, b);
  std::vector<double> ref(B * OC);  // ref[i,o] = b[o] + sum_c x[i,c] * w[o,c]
  const auto xv = x.to_vector(), wv = w.to_vector(), bv = b.to_vector();
  cpu::ref::linear_forward(ref.data(), xv.data(), wv.data(), bv.data(), B, C, OC);
  CHECK_CLOSE_T(out.to_vector(), ref, 1e-12, 1e-12);
}

TEST_CASE("linear gradients match finite differences") {
  for (auto [B, C, OC] : {std::tuple{1, 1, 1}, {3, 5, 4}, {7, 3, 9}, {2, 17, 1}}) {
    std::mt19937 rng(B * 100 + C);
    Tensor x = cgtest::random_tensor(Shape{B, C}, rng), w = cgtest::random_tensor(Shape{OC, C}, rng),
           b = cgtest::random_tensor(Shape{OC}, rng);
    for (Tensor* t : {&x, &w, &b}) t->set_requires_grad(true);
    auto f = [&](Tape* tape) { return linear(tape, x, w, b); };
    CHECK_GRADCHECK(f, (std::vector<Tensor>{x, w, b}), 1e-6);
  }
}

TEST_CASE("linear rejects mismatched shapes with a message naming them") {
  Tensor x = Tensor::zeros(Shape{2, 3}), w = Tensor::zeros(Shape{4, 5});
  CHECK_THROWS_WITH_AS(linear(nullptr, x, w, Tensor()), doctest::Contains("linear: input (2,3)"), cg::Error);
}

TEST_CASE("linear backward accumulates into existing gradients and is recorded with its inputs") {
  std::mt19937 rng(9);
  Tensor x = cgtest::random_tensor(Shape{3, 5}, rng), w = cgtest::random_tensor(Shape{4, 5}, rng),
         b = cgtest::random_tensor(Shape{4}, rng);
  for (Tensor* t : {&x, &w, &b}) t->set_requires_grad(true);
  const Tensor seed = cgtest::random_tensor(Shape{3, 4}, rng);
  std::vector<std::vector<double>> once;
  for (int pass = 0; pass < 2; ++pass) {
    Tape tape;
    Tensor out = linear(&tape, x, w, b);
    REQUIRE(tape.size() == 1);
    CHECK(std::string(tape.records()[0].op) == "linear");
    CHECK(std::string(tape.records()[0].backward_name) == "linear_backward");
    tape.backward(out, seed);
    if (pass == 0)
      for (Tensor* t : {&x, &w, &b}) once.push_back(t->grad().to_vector());
  }
  // Two backward passes over the same upstream gradient: every gradient is twice the first.
  cgtest::check_gradients_doubled({&x, &w, &b}, once);
  // A frozen weight gets no gradient; x and b still accumulate.
  Tensor wf = w.detach();
  Tape tape;
  tape.backward(linear(&tape, x, wf, b), seed);
  CHECK_FALSE(wf.grad().defined());
  std::vector<double> thrice = once[2];
  for (double& v : thrice) v *= 3;
  CHECK_CLOSE_T(b.grad().to_vector(), thrice, 1e-12, 1e-12);
}
