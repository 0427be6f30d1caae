// conv2d_leaky_relu, D.conv1's convolution with its LeakyReLU fused in: bit-identical to
// conv2d then leaky_relu, forward and every gradient, on shapes that take each of the CPU
// forward's paths (and the im2col one), in float and double; accumulation; the record.
#include "layers/activations.h"
#include "layers/conv2d.h"
#include "support/check.h"

using namespace cg;

namespace {

struct Case {
  int64_t N, C, H, OC, K, stride, pad;
  const char* path;  // which CPU forward a float run takes (conv_k4s2_direct.cpp)
};

// 4x4 stride-2 shapes for each path of the direct kernels (forward; the weight gradient and
// col2im, which take the activation's gradient as they read dout or in a pass before),
// then a convolution the direct kernels do not take.
const Case kCases[] = {
    {4, 3, 32, 8, 4, 2, 1, "few channels (D.conv1); column weight gradient; col2im by phase, narrow tile"},
    {2, 3, 32, 16, 4, 2, 1, "few channels; weight gradient with dout transposed, the bias gradient in its pass"},
    {8, 3, 64, 16, 4, 2, 1, "dout transposed, 4 panels a sample, the bias gradient summed across them"},
    {3, 3, 64, 16, 4, 2, 1, "dout transposed, units that split a sample: the bias gradient in a pass of its own"},
    {3, 8, 32, 7, 4, 2, 1, "planes read in place, a tile tail of 1 channel; col2im by phase"},
    {5, 8, 8, 6, 4, 2, 1, "packed panels over groups of samples (4x4 outputs); col2im by phase, masked rows"},
    {1, 8, 8, 6, 4, 2, 1, "one sample: col2im by channel, dz in a pass first"},
    {2, 3, 9, 4, 3, 1, 1, "im2col + GEMM, the activation in a pass after and before"},
};

struct Inputs {
  Tensor x, w, b, dy;
};

Inputs make_inputs(const Case& k, DType dt, uint32_t seed) {
  std::mt19937 rng(seed);
  const int64_t OH = (k.H + 2 * k.pad - k.K) / k.stride + 1;
  Inputs in;
  in.x = cgtest::random_tensor(Shape{k.N, k.C, k.H, k.H}, rng, 1.0, dt);
  in.w = cgtest::random_tensor(Shape{k.OC, k.C, k.K, k.K}, rng, 0.3, dt);
  in.b = cgtest::random_tensor(Shape{k.OC}, rng, 0.2, dt);
  in.dy = cgtest::random_tensor(Shape{k.N, k.OC, OH, OH}, rng, 1.0, dt);
  return in;
}

struct Result {
  std::vector<double> out, dx, dw, db;
};

// On fresh copies of the inputs, so each run starts without gradients.
Result run(const Inputs& shared, const Case& k, double slope, bool fused) {
  Inputs in = shared;
  for (Tensor* t : {&in.x, &in.w, &in.b}) {
    *t = t->clone();
    t->set_requires_grad(true);
  }
  Tape tape;
  const int s = int(k.stride), p = int(k.pad);
  const Tensor out = fused ? conv2d_leaky_relu(&tape, in.x, in.w, in.b, s, p, slope)
                           : leaky_relu(&tape, conv2d(&tape, in.x, in.w, in.b, s, p), slope);
  tape.backward(out, in.dy);
  return {out.to_vector(), in.x.grad().to_vector(), in.w.grad().to_vector(), in.b.grad().to_vector()};
}

}  // namespace

TEST_CASE("conv2d_leaky_relu is bit-identical to conv2d then leaky_relu, every forward path, float and double") {
  for (DType dt : {DType::f32, DType::f64})
    for (double slope : {0.2, 0.0})
      for (const Case& k : kCases) {
        INFO(dtype_name(dt) << " slope " << slope << " x (" << k.N << "," << k.C << "," << k.H << "," << k.H
                            << ") OC " << k.OC << ": " << k.path);
        const Inputs in = make_inputs(k, dt, uint32_t(k.N * 31 + k.C + k.OC));
        const Result fused = run(in, k, slope, true), plain = run(in, k, slope, false);
        CHECK_CLOSE_T(fused.out, plain.out, 0, 0);
        CHECK_CLOSE_T(fused.dx, plain.dx, 0, 0);
        CHECK_CLOSE_T(fused.dw, plain.dw, 0, 0);
        CHECK_CLOSE_T(fused.db, plain.db, 0, 0);
        // The activation acted: some outputs are scaled (or zeroed), some passed as they were.
        int negative = 0, positive = 0;
        for (double v : plain.out) (v < 0 || (slope == 0 && v == 0) ? negative : positive) += 1;
        CHECK(negative > 0);
        CHECK(positive > 0);
      }
}

TEST_CASE("conv2d_leaky_relu gradients match finite differences") {
  const Case k{2, 3, 8, 4, 4, 2, 1, "D.conv1's shape, small"};
  const Inputs in = make_inputs(k, DType::f64, 7);
  Tensor x = in.x, w = in.w, b = in.b;
  for (Tensor* t : {&x, &w, &b}) t->set_requires_grad(true);
  auto f = [&](Tape* tape) { return conv2d_leaky_relu(tape, x, w, b, 2, 1, 0.2); };
  const auto gc = cgtest::gradcheck(f, {x, w, b}, 1e-6);
  INFO("gradcheck worst: " << gc.where << " rel err " << gc.max_rel_err);
  CHECK(gc.max_rel_err <= 1e-6);
}

TEST_CASE("conv2d_leaky_relu backward accumulates into existing gradients") {
  const Case k{3, 3, 16, 8, 4, 2, 1, "D.conv1"};
  const Inputs in = make_inputs(k, DType::f64, 5);  // in f64 x + x == 2x to the last bit
  Tensor x = in.x.clone(), w = in.w.clone(), b = in.b.clone();
  for (Tensor* t : {&x, &w, &b}) t->set_requires_grad(true);
  auto pass = [&]() {
    Tape tape;
    tape.backward(conv2d_leaky_relu(&tape, x, w, b, 2, 1, 0.2), in.dy);
  };
  pass();
  const std::vector<std::vector<double>> once{x.grad().to_vector(), w.grad().to_vector(), b.grad().to_vector()};
  pass();
  cgtest::check_gradients_doubled({&x, &w, &b}, once);
}

TEST_CASE("conv2d_leaky_relu records one op named for the fusion and refuses a negative slope") {
  const Case k{2, 3, 8, 4, 4, 2, 1, "small"};
  Inputs in = make_inputs(k, DType::f32, 3);
  in.x.set_requires_grad(true);
  Tape tape;
  conv2d_leaky_relu(&tape, in.x, in.w, in.b, 2, 1, 0.2);
  REQUIRE(tape.size() == 1);
  CHECK(std::string(tape.records()[0].op) == "conv2d_leaky_relu");
  CHECK(std::string(tape.records()[0].backward_name) == "conv2d_leaky_relu_backward");
  CHECK(tape.records()[0].arg("slope") == doctest::Approx(0.2));
  CHECK(tape.records()[0].arg("stride") == 2.0);
  CHECK_THROWS_WITH_AS(conv2d_leaky_relu(nullptr, in.x, in.w, in.b, 2, 1, -0.1),
                       doctest::Contains("must be finite and >= 0"), cg::Error);
  CHECK_THROWS_WITH_AS(conv2d_leaky_relu(nullptr, in.x, in.w.view(Shape{4, 3, 16}), in.b, 2, 1, 0.2),
                       doctest::Contains("conv2d"), cg::Error);
}
