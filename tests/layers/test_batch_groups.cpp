// A batch as equal groups (D's real and generated images in one batch): batch_norm2d_act,
// conv2d and conv2d_leaky_relu with groups 2 against one call per group, in float and
// double. BN and the weight gradients give the separate calls' bits; the convolutions'
// outputs and input gradients, which may take another kernel path at twice the batch, agree
// to round-off.
#include "layers/batchnorm2d.h"
#include "layers/conv2d.h"
#include "layers/shape_ops.h"
#include "support/check.h"

using namespace cg;

namespace {

std::vector<Tensor> halves(const Tensor& x) {
  const int64_t B = x.dim(0) / 2;
  return {slice_batch(nullptr, x, 0, B), slice_batch(nullptr, x, B, B)};
}

Tensor leaf(const Tensor& t) {
  Tensor c = t.clone();
  c.set_requires_grad(true);
  return c;
}

}  // namespace

TEST_CASE("batch_norm2d_act with 2 groups: each half's statistics, the bits of two calls, float and double") {
  for (DType dt : {DType::f32, DType::f64}) {
    INFO(dtype_name(dt));
    std::mt19937 rng(11);
    const Shape s{6, 5, 4, 4};
    const Tensor x0 = cgtest::random_tensor(s, rng, 2.0, dt), dy = cgtest::random_tensor(s, rng, 1.0, dt);
    const Tensor g0 = cgtest::random_tensor(Shape{5}, rng, 1.0, dt), b0 = cgtest::random_tensor(Shape{5}, rng, 1.0, dt);
    // One call over the batch as 2 groups.
    Tensor x = leaf(x0), g = leaf(g0), b = leaf(b0);
    Tensor rm = Tensor::zeros(Shape{5}, dt), rv = Tensor::full(Shape{5}, 1.0, dt);
    Tape tape;
    const Tensor out = batch_norm2d_act(&tape, x, g, b, rm, rv, true, 0.1, 1e-5, 0.2, 2);
    tape.backward(out, dy);
    // Two calls, recorded in order, swept last first: what D did before pairing.
    Tensor xa = leaf(halves(x0)[0]), xb = leaf(halves(x0)[1]), g2 = leaf(g0), b2 = leaf(b0);
    Tensor rm2 = Tensor::zeros(Shape{5}, dt), rv2 = Tensor::full(Shape{5}, 1.0, dt);
    Tape t2;
    const Tensor oa = batch_norm2d_act(&t2, xa, g2, b2, rm2, rv2, true, 0.1, 1e-5, 0.2);
    const Tensor ob = batch_norm2d_act(&t2, xb, g2, b2, rm2, rv2, true, 0.1, 1e-5, 0.2);
    const Tensor both = concat_batch(&t2, {oa, ob});
    t2.backward(both, dy);
    CHECK_CLOSE_T(out, both, 0, 0);
    CHECK_CLOSE_T(x.grad(), concat_batch(nullptr, {xa.grad(), xb.grad()}), 0, 0);
    CHECK_CLOSE_T(g.grad(), g2.grad(), 0, 0);
    CHECK_CLOSE_T(b.grad(), b2.grad(), 0, 0);
    CHECK_CLOSE_T(rm, rm2, 0, 0);
    CHECK_CLOSE_T(rv, rv2, 0, 0);
    // Not one batch: the halves' means differ from the whole batch's.
    const Tensor whole = batch_norm2d_act(nullptr, x0, g0, b0, Tensor(), Tensor(), true, 0.1, 1e-5, 0.2);
    CHECK(cgtest::compare(whole, out, 0, 0).max_abs > 1e-3);
  }
}

TEST_CASE("batch_norm2d_act refuses groups that do not divide the batch, and records groups only when used") {
  const Tensor x = Tensor::zeros(Shape{3, 2, 2, 2}), g = Tensor::full(Shape{2}, 1.0), b = Tensor::zeros(Shape{2});
  CHECK_THROWS_WITH_AS(batch_norm2d_act(nullptr, x, g, b, Tensor(), Tensor(), true, 0.1, 1e-5, 0.2, 2),
                       doctest::Contains("a batch of 3 samples cannot be 2 equal groups"), cg::Error);
  // One value per channel in a group has no variance to normalise by, though the batch has two.
  CHECK_THROWS_WITH_AS(batch_norm2d_act(nullptr, Tensor::zeros(Shape{2, 2}), g, b, Tensor(), Tensor(), true, 0.1,
                                        1e-5, 0.2, 2),
                       doctest::Contains("more than one value per channel in each group"), cg::Error);
  CHECK_NOTHROW(batch_norm2d_act(nullptr, Tensor::zeros(Shape{2, 2}), g, b, Tensor(), Tensor(), true, 0.1, 1e-5, 0.2));
  Tensor xg = leaf(Tensor::zeros(Shape{4, 2, 2, 2}));
  Tape tape;
  batch_norm2d_act(&tape, xg, g, b, Tensor(), Tensor(), true, 0.1, 1e-5, 0.2, 2);
  batch_norm2d_act(&tape, xg, g, b, Tensor(), Tensor(), true, 0.1, 1e-5, 0.2);
  REQUIRE(tape.size() == 2);
  CHECK(tape.records()[0].arg_or("groups", 1) == 2);
  CHECK(tape.records()[1].arg_or("groups", 1) == 1);
  CHECK(tape.records()[1].arg_names.size() == 3);  // training, eps, slope: as before groups existed
}

namespace {

struct ConvCase {
  int64_t N, C, H, OC;
  bool leaky;
  const char* what;
};

// D's shapes in miniature (4x4 stride 2): the image layer with LeakyReLU and bias, a layer
// whose col2im (the input gradient) runs by channel at one group's batch and by output
// phase at the whole (by channel while 16 * 8 channels > 16 pixels * N), and one read in place.
const ConvCase kConvCases[] = {
    {4, 3, 16, 8, true, "image layer, LeakyReLU fused, bias"},
    {8, 8, 8, 16, false, "4x4 outputs: col2im by channel at batch 4, by output phase at 8"},
    {6, 16, 32, 16, false, "16x16 outputs, planes read in place"},
};

}  // namespace

TEST_CASE("conv2d with 2 groups: the weight gradient has two calls' bits, output and input gradient agree") {
  for (DType dt : {DType::f32, DType::f64})
    for (const ConvCase& k : kConvCases) {
      INFO(dtype_name(dt) << " " << k.what);
      std::mt19937 rng(21);
      const int64_t OH = k.H / 2;
      const Tensor x0 = cgtest::random_tensor(Shape{k.N, k.C, k.H, k.H}, rng, 1.0, dt);
      const Tensor w0 = cgtest::random_tensor(Shape{k.OC, k.C, 4, 4}, rng, 0.3, dt);
      const Tensor b0 = k.leaky ? cgtest::random_tensor(Shape{k.OC}, rng, 0.2, dt) : Tensor();
      const Tensor dy = cgtest::random_tensor(Shape{k.N, k.OC, OH, OH}, rng, 1.0, dt);
      auto op = [&](Tape* t, const Tensor& x, const Tensor& w, const Tensor& b, int groups) {
        return k.leaky ? conv2d_leaky_relu(t, x, w, b, 2, 1, 0.2, groups) : conv2d(t, x, w, b, 2, 1, groups);
      };
      Tensor x = leaf(x0), w = leaf(w0), b = k.leaky ? leaf(b0) : Tensor();
      Tape tape;
      const Tensor out = op(&tape, x, w, b, 2);
      tape.backward(out, dy);
      Tensor xa = leaf(halves(x0)[0]), xb = leaf(halves(x0)[1]), w2 = leaf(w0), b2 = k.leaky ? leaf(b0) : Tensor();
      Tape t2;
      const Tensor oa = op(&t2, xa, w2, b2, 1), ob = op(&t2, xb, w2, b2, 1);
      t2.backward(concat_batch(&t2, {oa, ob}), dy);
      const double tol = dt == DType::f32 ? 1e-5 : 1e-13;
      CHECK_CLOSE_T(out, concat_batch(nullptr, {oa, ob}), tol, tol);
      CHECK_CLOSE_T(x.grad(), concat_batch(nullptr, {xa.grad(), xb.grad()}), tol, tol);
      CHECK_CLOSE_T(w.grad(), w2.grad(), 0, 0);
      if (k.leaky) CHECK_CLOSE_T(b.grad(), b2.grad(), 0, 0);
    }
}

TEST_CASE("conv2d refuses groups that do not divide the batch") {
  const Tensor x = Tensor::zeros(Shape{3, 2, 8, 8}), w = Tensor::zeros(Shape{4, 2, 4, 4});
  CHECK_THROWS_WITH_AS(conv2d(nullptr, x, w, Tensor(), 2, 1, 2),
                       doctest::Contains("conv2d: a batch of 3 samples cannot be 2 equal groups"), cg::Error);
  CHECK_THROWS_WITH_AS(conv2d_leaky_relu(nullptr, x, w, Tensor(), 2, 1, 0.2, 0), doctest::Contains("0 equal groups"),
                       cg::Error);
}
