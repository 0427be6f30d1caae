// ParamStore: parameters as aligned views into one flat buffer and their gradients
// into another; zero_grad, requires_grad toggling, buffers, lookup and the errors.
#include "engine/params.h"
#include "layers/linear.h"
#include "support/check.h"

using namespace cg;

TEST_CASE("parameters are aligned views into the flat buffers") {
  ParamStore ps;
  Tensor w = ps.param("G.fc.weight", Shape{3, 5});
  Tensor b = ps.param("G.fc.bias", Shape{3});
  Tensor rm = ps.buffer("D.bn.running_mean", Shape{7});
  CHECK(ps.num_params() == 18);
  CHECK_FALSE(ps.finalized());
  ps.finalize(Device::cpu);
  CHECK(ps.finalized());
  CHECK(ps.flat().numel() == 2 * ParamStore::kAlign);  // each slice padded to the boundary
  CHECK(ps.flat_grad().shape() == ps.flat().shape());
  CHECK(ps.flat_buffers().numel() == ParamStore::kAlign);
  // The handles declared earlier now see the flat storage.
  const char* base = static_cast<const char*>(ps.flat().raw());
  CHECK(static_cast<const char*>(w.raw()) == base);
  CHECK(static_cast<const char*>(b.raw()) == base + ParamStore::kAlign * 4);
  CHECK(static_cast<const char*>(rm.raw()) == static_cast<const char*>(ps.flat_buffers().raw()));
  b.data<float>()[2] = 4.f;
  CHECK(ps.flat().data<float>()[ParamStore::kAlign + 2] == 4.f);
  // Gradients are views into the flat gradient buffer.
  CHECK(static_cast<const char*>(b.grad().raw()) ==
        static_cast<const char*>(ps.flat_grad().raw()) + ParamStore::kAlign * 4);
  CHECK(w.grad().shape() == Shape{3, 5});
  CHECK(w.requires_grad());
  CHECK_FALSE(rm.requires_grad());
  CHECK(ps.find("G.fc.bias").same(b));
  CHECK(ps.find("D.bn.running_mean").same(rm));
  CHECK_FALSE(ps.find("nope").defined());
  CHECK(ps.params().size() == 2);
  CHECK(ps.buffers().size() == 1);
}

TEST_CASE("the tape's gradients land in the flat buffer, and zero_grad clears them in one go") {
  ParamStore ps;
  Linear fc(ps, "fc", 4, 2);
  ps.finalize(Device::cpu, DType::f64);
  ps.flat().fill_(0.5);
  std::mt19937 rng(2);
  Tensor x = cgtest::random_tensor(Shape{3, 4}, rng);
  for (int pass = 1; pass <= 2; ++pass) {
    Tape tape;
    Tensor y = fc.forward(&tape, x);
    tape.backward(y, Tensor::full(Shape{3, 2}, 1.0, DType::f64));
    // dbias = sum over the batch of ones = 3 per pass, accumulated.
    CHECK(fc.bias.grad().to_vector() == std::vector<double>{3.0 * pass, 3.0 * pass});
  }
  const auto flat = ps.flat_grad().to_vector();
  CHECK(flat[static_cast<size_t>(ParamStore::kAlign)] == 6.0);
  ps.zero_grad();
  for (double g : ps.flat_grad().to_vector()) REQUIRE(g == 0.0);
  CHECK(fc.weight.grad().to_vector() == std::vector<double>(8, 0.0));
}

TEST_CASE("requires_grad toggles for the whole store (D frozen during the G step)") {
  ParamStore ps;
  Linear fc(ps, "D.head", 3, 1);
  ps.finalize(Device::cpu, DType::f64);
  ps.set_requires_grad(false);
  CHECK_FALSE(fc.weight.requires_grad());
  CHECK_FALSE(fc.bias.requires_grad());
  Tensor x = Tensor::from({1, 2, 3}, Shape{1, 3}, DType::f64);
  x.set_requires_grad(true);
  Tape tape;
  tape.backward(fc.forward(&tape, x));
  CHECK(x.grad().defined());
  for (double g : ps.flat_grad().to_vector()) CHECK(g == 0.0);  // nothing reached the frozen weights
  ps.set_requires_grad(true);
  CHECK(fc.weight.requires_grad());
}

TEST_CASE("param store errors") {
  ParamStore ps;
  ps.param("w", Shape{2});
  CHECK_THROWS_WITH_AS(ps.param("w", Shape{3}), doctest::Contains("'w' declared twice"), cg::Error);
  CHECK_THROWS_WITH_AS(ps.buffer("w", Shape{3}), doctest::Contains("'w' declared twice"), cg::Error);
  Tensor early = ps.find("w");
  CHECK_THROWS_WITH_AS(early.raw(), doctest::Contains("tensor 'w' has no storage yet"), cg::Error);
  ps.finalize(Device::cpu);
  CHECK_THROWS_WITH_AS(ps.param("v", Shape{1}), doctest::Contains("cannot declare 'v' after finalize()"), cg::Error);
  CHECK_THROWS_WITH_AS(ps.finalize(Device::cpu), doctest::Contains("finalize called twice"), cg::Error);
  ParamStore empty;
  empty.finalize(Device::cpu);
  empty.zero_grad();
  CHECK(empty.flat().numel() == 0);
}
