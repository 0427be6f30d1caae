// The f32 <-> bf16 conversions of bf16 mixed precision, on the CPU (the CUDA kernels share
// kernels/common/bf16.h and are compared with these in the op table): rounding to nearest
// even at exact ties, NaN and infinities, the cast op's gradient both ways and its
// accumulation, and the one-sentence refusal of bf16 math on the CPU.
#include <cmath>
#include <cstring>
#include <limits>

#include "base/precision.h"
#include "kernels/common/bf16.h"
#include "layers/cast.h"
#include "layers/conv2d.h"
#include "support/check.h"

using namespace cg;

namespace {
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t bf16_bits(float f) { return common::float_to_bf16(f).bits; }
}  // namespace

TEST_CASE("bf16 rounding is to nearest with ties to even, and keeps NaN, infinities and signs") {
  CHECK(bf16_bits(1.0f) == 0x3f80);
  CHECK(bf16_bits(-2.0f) == 0xc000);
  // 1 + 2^-8 lies halfway between 1 (even mantissa) and 1 + 2^-7: ties go to 1.
  CHECK(bf16_bits(from_bits(0x3f808000)) == 0x3f80);
  // 1 + 3*2^-8 lies halfway between 1 + 2^-7 (odd) and 1 + 2^-6: ties go up, to the even one.
  CHECK(bf16_bits(from_bits(0x3f818000)) == 0x3f82);
  CHECK(bf16_bits(from_bits(0x3f808001)) == 0x3f81);  // just above the tie: up
  CHECK(bf16_bits(std::numeric_limits<float>::infinity()) == 0x7f80);
  CHECK(bf16_bits(-std::numeric_limits<float>::infinity()) == 0xff80);
  CHECK(bf16_bits(std::numeric_limits<float>::max()) == 0x7f80);  // rounds past the largest bf16: infinity
  CHECK(std::isnan(common::bf16_to_float(common::float_to_bf16(std::nanf("")))));
  CHECK(std::isnan(common::bf16_to_float(common::float_to_bf16(from_bits(0x7f800001)))));  // a NaN that rounding would make inf
  CHECK(bf16_bits(-0.0f) == 0x8000);
  // Every bf16 value survives the round trip through float.
  for (uint32_t b = 0; b < 0x10000; ++b) {
    const float f = common::bf16_to_float(bf16{uint16_t(b)});
    if (std::isnan(f)) continue;
    REQUIRE(bf16_bits(f) == b);
  }
}

TEST_CASE("bf16 tensors are made and read on the host, and the cast op rounds once") {
  const Tensor x = Tensor::from({1.0, 1.00390625, -3.14159, 1e30, 0.0}, Shape{5});
  const Tensor h = to_dtype(nullptr, x, DType::bf16);
  CHECK(h.dtype() == DType::bf16);
  CHECK(h.nbytes() == 10);
  const std::vector<double> v = h.to_vector();
  CHECK(v[0] == 1.0);
  CHECK(v[1] == 1.0);  // the tie goes to even
  CHECK(v[2] == doctest::Approx(-3.140625));
  CHECK(std::fabs(v[3] - 1e30) / 1e30 < 1.0 / 256);
  CHECK(to_dtype(nullptr, x, DType::f32).same(x));  // already f32: the same tensor, nothing recorded
  CHECK(Tensor::from({0.5, -0.25}, Shape{2}, DType::bf16).to_vector() == std::vector<double>{0.5, -0.25});
  CHECK_THROWS_WITH_AS(to_dtype(nullptr, Tensor::zeros(Shape{2}, DType::f64), DType::bf16),
                       doctest::Contains("converts between f32 and bf16"), Error);
}

TEST_CASE("the cast op's gradient converts back: widened into f32, narrowed into bf16, accumulating") {
  Tensor x = Tensor::from({0.1, -2.5, 3.0}, Shape{3});
  x.set_requires_grad(true);
  for (int pass = 0; pass < 2; ++pass) {
    Tape tape;
    const Tensor y = to_dtype(&tape, to_dtype(&tape, x, DType::bf16), DType::f32);
    REQUIRE(tape.size() == 2);
    tape.backward(y, Tensor::from({0.3, 1.0, -1.5}, Shape{3}));
  }
  // dout 0.3 is rounded to bf16 (0.30078125) on its way back through the narrowing cast.
  const std::vector<double> g = x.grad().to_vector();
  CHECK(g[0] == doctest::Approx(2 * 0.30078125));
  CHECK(g[1] == 2.0);
  CHECK(g[2] == -3.0);
}

TEST_CASE("bf16 activations are refused on the CPU in one sentence and the CPU's activation dtype is f32") {
  const Tensor x = Tensor::zeros(Shape{1, 2, 4, 4}, DType::bf16);
  const Tensor w = Tensor::zeros(Shape{3, 2, 3, 3});
  CHECK_THROWS_WITH_AS(conv2d(nullptr, x, w, Tensor(), 1, 1), doctest::Contains("bf16 on cuda"), Error);
  PrecisionScope bf(Precision::bf16);
  CHECK(activation_dtype(Device::cpu) == DType::f32);
  CHECK(parse_precision("tf32") == Precision::tf32);
  CHECK_THROWS_WITH_AS(parse_precision("fp16"), doctest::Contains("fp32 (strict IEEE), tf32"), Error);
}
