// Image normalisation: exact values of x/127.5 - 1, the HWC -> CHW layout, the
// per-image flip, the round trip back to pixels (rounding, clamping, NaN), and errors.
#include <cmath>

#include "engine/normalize.h"
#include "support/check.h"

using namespace cg;

namespace {

// A (B,H,W,C) batch whose every pixel value encodes its position.
Tensor pattern(int64_t B, int64_t H, int64_t W, int64_t C) {
  Tensor t = Tensor::empty(Shape{B, H, W, C}, DType::u8);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t w = 0; w < W; ++w)
        for (int64_t c = 0; c < C; ++c)
          t.data<uint8_t>()[((b * H + h) * W + w) * C + c] = static_cast<uint8_t>((b * 97 + h * 31 + w * 7 + c * 3) % 256);
  return t;
}

}  // namespace

TEST_CASE("images_u8_to_f32: every pixel value maps to exactly x/127.5 - 1") {
  Tensor px = Tensor::empty(Shape{1, 1, 256, 1}, DType::u8);
  for (int i = 0; i < 256; ++i) px.data<uint8_t>()[i] = static_cast<uint8_t>(i);
  Tensor f = images_u8_to_f32(px);
  CHECK(f.shape() == Shape{1, 1, 1, 256});
  CHECK(f.dtype() == DType::f32);
  for (int i = 0; i < 256; ++i) REQUIRE(f.data<float>()[i] == static_cast<float>(i) / 127.5f - 1.f);
  CHECK(f.data<float>()[0] == -1.f);
  CHECK(f.data<float>()[255] == 1.f);
  Tensor d = images_u8_to_f64(px);
  for (int i = 0; i < 256; ++i) REQUIRE(d.data<double>()[i] == i / 127.5 - 1.0);
}

TEST_CASE("images_u8_to_f32: (B,H,W,C) becomes (B,C,H,W), and flagged images are mirrored") {
  const int64_t B = 3, H = 4, W = 5, C = 3;
  Tensor px = pattern(B, H, W, C);
  const std::vector<uint8_t> flip = {0, 1, 0};
  Tensor plain = images_u8_to_f32(px), flipped = images_u8_to_f32(px, flip);
  CHECK(plain.shape() == Shape{B, C, H, W});
  const uint8_t* in = px.data<uint8_t>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) {
          const int64_t o = ((b * C + c) * H + h) * W + w;
          const int64_t ws = flip[static_cast<size_t>(b)] ? W - 1 - w : w;
          REQUIRE(plain.data<float>()[o] == in[((b * H + h) * W + w) * C + c] / 127.5f - 1.f);
          REQUIRE(flipped.data<float>()[o] == in[((b * H + h) * W + ws) * C + c] / 127.5f - 1.f);
        }
}

TEST_CASE("images_f32_to_u8 inverts images_u8_to_f32 and rounds, clamps and survives NaN") {
  Tensor px = pattern(2, 8, 8, 3);
  Tensor back = images_f32_to_u8(images_u8_to_f32(px));
  CHECK(back.shape() == px.shape());
  CHECK(back.to_vector() == px.to_vector());
  CHECK(images_f32_to_u8(images_u8_to_f64(px)).to_vector() == px.to_vector());
  // (x+1)*127.5: -1 -> 0, 1 -> 255, beyond -> clamped, 0 -> 127.5 rounds up, -0.5 -> 63.75, NaN -> 0.
  Tensor v = Tensor::from({-1.0, 1.0, -7.0, 3.0, 0.0, -0.5, NAN, INFINITY, -INFINITY}, Shape{1, 1, 1, 9});
  const std::vector<double> want = {0, 255, 0, 255, 128, 64, 0, 255, 0};
  CHECK(images_f32_to_u8(v).to_vector() == want);
  CHECK(images_f32_to_u8(v.to(DType::f64)).to_vector() == want);
}

TEST_CASE("normalize errors name the op and the shapes") {
  Tensor f = Tensor::zeros(Shape{2, 3, 4, 4});
  CHECK_THROWS_WITH_AS(images_u8_to_f32(f), doctest::Contains("images_u8_to_f32: needs a u8 (B,H,W,C) batch"),
                       cg::Error);
  Tensor px = Tensor::zeros(Shape{2, 4, 4, 3}, DType::u8);
  CHECK_THROWS_WITH_AS(images_u8_to_f32(px, {1, 0, 1}), doctest::Contains("3 flip flags for a batch of 2 (2,4,4,3)"),
                       cg::Error);
  CHECK_THROWS_WITH_AS(images_u8_to_f32(Tensor::zeros(Shape{4, 4, 3}, DType::u8)), doctest::Contains("(4,4,3)"),
                       cg::Error);
  CHECK_THROWS_WITH_AS(images_f32_to_u8(px), doctest::Contains("images_f32_to_u8: needs f32 or f64"), cg::Error);
  CHECK_THROWS_WITH_AS(images_f32_to_u8(Tensor::zeros(Shape{3, 4})), doctest::Contains("must have 4 dimensions"),
                       cg::Error);
  // Empty batches are fine.
  CHECK(images_u8_to_f32(Tensor::zeros(Shape{0, 4, 4, 3}, DType::u8)).shape() == Shape{0, 3, 4, 4});
}
