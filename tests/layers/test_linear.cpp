// Linear: forward against a direct loop, gradients against finite differences.
#include "layers/linear.h"
#include "support/check.h"

using namespace cg;

TEST_CASE("linear forward matches a direct loop") {
  std::mt19937 rng(1);
  const int64_t B = 3, C = 5, OC = 4;
  Tensor x = cgtest::random_tensor(Shape{B, C}, rng), w = cgtest::random_tensor(Shape{OC, C}, rng),
         b = cgtest::random_tensor(Shape{OC}, rng);
  Tensor out = linear(nullptr, x, w, b);
  std::vector<double> ref(B * OC);
  auto xv = x.to_vector(), wv = w.to_vector(), bv = b.to_vector();
  for (int64_t i = 0; i < B; ++i)
    for (int64_t o = 0; o < OC; ++o) {
      double s = bv[o];
      for (int64_t c = 0; c < C; ++c) s += xv[i * C + c] * wv[o * C + c];
      ref[i * OC + o] = s;
    }
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
