// Shape ops: reshape/flatten and concat round trips against direct index maps,
// weighted_sum values, gradients against finite differences (inputs repeated
// included), and bad input.
#include "layers/shape_ops.h"
#include "support/check.h"

using namespace cg;

TEST_CASE("reshape and flatten keep the elements, copy them, and reshape back") {
  std::mt19937 rng(1);
  Tensor x = cgtest::random_tensor(Shape{2, 3, 4, 5}, rng);
  Tensor f = flatten(nullptr, x);
  CHECK(f.shape() == Shape{2, 60});
  CHECK_CLOSE_T(f.to_vector(), x.to_vector(), 0, 0);
  Tensor back = reshape(nullptr, f, Shape{2, 3, 4, 5});
  CHECK_CLOSE_T(back, x, 0, 0);
  // A copy: writing the output leaves the input alone.
  f.fill_(7.0);
  CHECK_CLOSE_T(back, x, 0, 0);
  CHECK(x.to_vector()[0] != 7.0);
  CHECK(reshape(nullptr, Tensor::zeros(Shape{16384}), Shape{1, 1024, 4, 4}).shape() == Shape{1, 1024, 4, 4});
}

TEST_CASE("concat along dim 1 places each input's channels in order, and slices back") {
  std::mt19937 rng(2);
  for (bool four_d : {false, true}) {
    INFO("4-D " << four_d);
    const int64_t N = 3, H = four_d ? 2 : 1, W = four_d ? 3 : 1;
    const std::vector<int64_t> Cs = {2, 1, 4};
    std::vector<Tensor> xs;
    for (int64_t c : Cs) xs.push_back(cgtest::random_tensor(four_d ? Shape{N, c, H, W} : Shape{N, c}, rng));
    Tensor out = concat(nullptr, xs);
    CHECK(out.shape() == (four_d ? Shape{N, 7, H, W} : Shape{N, 7}));
    const auto ov = out.to_vector();
    int64_t c0 = 0;
    for (size_t k = 0; k < xs.size(); ++k) {
      const auto xv = xs[k].to_vector();
      std::vector<double> slice;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < Cs[k]; ++c)
          for (int64_t i = 0; i < H * W; ++i) slice.push_back(ov[(n * 7 + c0 + c) * H * W + i]);
      CHECK_CLOSE_T(slice, xv, 0, 0);
      c0 += Cs[k];
    }
  }
}

TEST_CASE("weighted_sum adds scaled inputs") {
  Tensor a = Tensor::from({1, 2}, Shape{2}, DType::f64), b = Tensor::from({10, 20}, Shape{2}, DType::f64);
  CHECK_CLOSE_T(weighted_sum(nullptr, {a, b}, {2.0, -0.5}).to_vector(), (std::vector<double>{-3, -6}), 0, 1e-15);
  CHECK_CLOSE_T(weighted_sum(nullptr, {a}, {3.0}).to_vector(), (std::vector<double>{3, 6}), 0, 1e-15);
  Tensor l = Tensor::from({1.5}, Shape{1}, DType::f32);
  CHECK(weighted_sum(nullptr, {l, l, l}, {1, 1, 1}).item() == doctest::Approx(4.5));
}

TEST_CASE("shape op gradients match finite differences, repeated inputs included") {
  std::mt19937 rng(3);
  Tensor x = cgtest::random_tensor(Shape{2, 3, 2, 3}, rng), y = cgtest::random_tensor(Shape{2, 1, 2, 3}, rng),
         u = cgtest::random_tensor(Shape{1, 5}, rng), v = cgtest::random_tensor(Shape{1, 2}, rng);
  for (Tensor* t : {&x, &y, &u, &v}) t->set_requires_grad(true);
  auto fr = [&](Tape* tape) { return reshape(tape, x, Shape{6, 6}); };
  CHECK_GRADCHECK(fr, (std::vector<Tensor>{x}), 1e-6);
  auto ff = [&](Tape* tape) { return flatten(tape, y); };
  CHECK_GRADCHECK(ff, (std::vector<Tensor>{y}), 1e-6);
  auto fc4 = [&](Tape* tape) { return concat(tape, {x, y, x}); };
  CHECK_GRADCHECK(fc4, (std::vector<Tensor>{x, y}), 1e-6);
  auto fc2 = [&](Tape* tape) { return concat(tape, {v, u, v}); };  // batch 1, odd widths
  CHECK_GRADCHECK(fc2, (std::vector<Tensor>{u, v}), 1e-6);
  Tensor x2 = cgtest::random_tensor(x.shape(), rng);
  x2.set_requires_grad(true);
  auto fw = [&](Tape* tape) { return weighted_sum(tape, {x, x2, x}, {0.5, -2.0, 1.25}); };
  CHECK_GRADCHECK(fw, (std::vector<Tensor>{x, x2}), 1e-6);
}

TEST_CASE("concat backward skips inputs that need no gradient") {
  Tensor a = Tensor::from({1, 2}, Shape{1, 2}, DType::f64), b = Tensor::from({3}, Shape{1, 1}, DType::f64);
  b.set_requires_grad(true);
  Tape tape;
  Tensor out = concat(&tape, {a, b});
  tape.backward(out, Tensor::from({5, 6, 7}, Shape{1, 3}, DType::f64));
  CHECK_FALSE(a.grad().defined());
  CHECK(b.grad().item() == 7.0);
}

TEST_CASE("shape ops reject bad input with messages naming the op and the shapes") {
  CHECK_THROWS_WITH_AS(reshape(nullptr, Tensor::zeros(Shape{2, 3}), Shape{4, 2}),
                       doctest::Contains("reshape: cannot reshape (2,3) (6 elements) to (4,2)"), cg::Error);
  CHECK_THROWS_WITH_AS(concat(nullptr, {Tensor::zeros(Shape{2, 3}), Tensor::zeros(Shape{3, 3})}),
                       doctest::Contains("concat: input 1 (3,3) does not match input 0 (2,3)"), cg::Error);
  CHECK_THROWS_WITH_AS(concat(nullptr, {Tensor::zeros(Shape{2, 3, 4, 4}), Tensor::zeros(Shape{2, 3, 4, 5})}),
                       doctest::Contains("outside dim 1"), cg::Error);
  CHECK_THROWS_WITH_AS(concat(nullptr, {}), doctest::Contains("concat: no inputs"), cg::Error);
  CHECK_THROWS_AS(concat(nullptr, {Tensor::zeros(Shape{2, 3}), Tensor::zeros(Shape{2, 3}, DType::f64)}), cg::Error);
  CHECK_THROWS_WITH_AS(weighted_sum(nullptr, {Tensor::zeros(Shape{2})}, {1.0, 2.0}),
                       doctest::Contains("weighted_sum: 1 inputs but 2 weights"), cg::Error);
  CHECK_THROWS_WITH_AS(weighted_sum(nullptr, {Tensor::zeros(Shape{2}), Tensor::zeros(Shape{1})}, {1.0, 2.0}),
                       doctest::Contains("weighted_sum: input 1 (1) does not match input 0 (2)"), cg::Error);
}

TEST_CASE("concat_batch stacks samples in order, slice_batch takes them back, gradients to their rows") {
  std::mt19937 rng(4);
  const Tensor a = cgtest::random_tensor(Shape{2, 3, 2, 2}, rng), b = cgtest::random_tensor(Shape{1, 3, 2, 2}, rng);
  const Tensor ab = concat_batch(nullptr, {a, b});
  CHECK(ab.shape() == Shape{3, 3, 2, 2});
  CHECK_CLOSE_T(slice_batch(nullptr, ab, 0, 2), a, 0, 0);
  CHECK_CLOSE_T(slice_batch(nullptr, ab, 2, 1), b, 0, 0);
  const auto av = a.to_vector(), abv = ab.to_vector();
  CHECK(abv[5] == av[5]);
  CHECK(abv[24] == b.to_vector()[0]);
  // Gradients: the rows each input or slice came from, added where a tensor is used twice.
  Tensor x = cgtest::random_tensor(Shape{4, 2}, rng);
  x.set_requires_grad(true);
  Tape tape;
  const Tensor s1 = slice_batch(&tape, x, 1, 2), s2 = slice_batch(&tape, x, 2, 2);
  tape.backward(concat_batch(&tape, {s1, s2}), Tensor::from({1, 2, 3, 4, 5, 6, 7, 8}, Shape{4, 2}, DType::f64));
  CHECK_CLOSE_T(x.grad().to_vector(), (std::vector<double>{0, 0, 1, 2, 3 + 5, 4 + 6, 7, 8}), 0, 0);
}

TEST_CASE("concat_batch and slice_batch reject bad input in one sentence") {
  CHECK_THROWS_WITH_AS(concat_batch(nullptr, {Tensor::zeros(Shape{2, 3}), Tensor::zeros(Shape{2, 4})}),
                       doctest::Contains("concat_batch: input 1 (2,4) does not match input 0 (2,3) outside dim 0"),
                       cg::Error);
  CHECK_THROWS_WITH_AS(concat_batch(nullptr, {}), doctest::Contains("concat_batch: no inputs"), cg::Error);
  CHECK_THROWS_WITH_AS(slice_batch(nullptr, Tensor::zeros(Shape{4, 3}), 3, 2),
                       doctest::Contains("slice_batch: samples [3, 5) of a batch of 4"), cg::Error);
  CHECK_THROWS_AS(slice_batch(nullptr, Tensor::zeros(Shape{4, 3}), 0, 0), cg::Error);
}
