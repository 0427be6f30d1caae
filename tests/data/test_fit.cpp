// Fit to a square: centre crop and area/bilinear resizing against values worked
// out by hand.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <numeric>

#include "data/fit.h"

using namespace cg::data;

namespace {

// An RGB image whose three channels all hold f(x, y).
Image grey_image(int w, int h, const std::function<int(int, int)>& f) {
  Image img;
  img.width = w, img.height = h;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) img.rgb.push_back(uint8_t(f(x, y)));
  return img;
}

// Channel 0 of the fitted image as rows.
std::vector<std::vector<int>> plane(const Image& img) {
  std::vector<std::vector<int>> out(size_t(img.height), std::vector<int>(size_t(img.width)));
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const uint8_t* p = img.rgb.data() + (size_t(y) * size_t(img.width) + size_t(x)) * 3;
      CHECK(p[0] == p[1]);
      CHECK(p[0] == p[2]);
      out[size_t(y)][size_t(x)] = p[0];
    }
  return out;
}

using Rows = std::vector<std::vector<int>>;

}  // namespace

TEST_CASE("fit: a wide image is cropped to its centre square") {
  // 6x4, column x holds 10x: the crop keeps columns 1..4 (offset floor((6-4)/2) = 1).
  const Image out = fit_square(grey_image(6, 4, [](int x, int) { return 10 * x; }), 4);
  CHECK(plane(out) == Rows(4, {10, 20, 30, 40}));
}

TEST_CASE("fit: a tall image is cropped to its centre square") {
  // 2x5, row y holds 10y + x: the crop keeps rows 1..2 (offset floor((5-2)/2) = 1).
  const Image out = fit_square(grey_image(2, 5, [](int x, int y) { return 10 * y + x; }), 2);
  CHECK(plane(out) == Rows{{10, 11}, {20, 21}});
}

TEST_CASE("fit: 4 -> 2 averages each 2x2 block") {
  const int v[4][4] = {{10, 20, 0, 0}, {30, 41, 0, 4}, {200, 200, 99, 100}, {200, 201, 100, 100}};
  const Image out = fit_square(grey_image(4, 4, [&](int x, int y) { return v[y][x]; }), 2);
  // (10+20+30+41)/4 = 25.25 -> 25; (0+0+0+4)/4 = 1; (200*3+201)/4 = 200.25 -> 200; (99+300)/4 = 99.75 -> 100
  CHECK(plane(out) == Rows{{25, 1}, {200, 100}});
}

TEST_CASE("fit: 3 -> 2 weighs pixels by how much of them each output covers") {
  // Output 0 covers source [0, 1.5): pixel 0 fully, pixel 1 half; output 1 covers [1.5, 3).
  // x profile a = 30, 60, 90 -> (30 + 30) / 1.5 = 40 and (30 + 90) / 1.5 = 80.
  // y profile b = 0, 3, 6  -> (0 + 1.5) / 1.5 = 1 and (1.5 + 6) / 1.5 = 5.
  const int a[3] = {30, 60, 90}, b[3] = {0, 3, 6};
  const Image out = fit_square(grey_image(3, 3, [&](int x, int y) { return a[x] + b[y]; }), 2);
  CHECK(plane(out) == Rows{{41, 81}, {45, 85}});
}

TEST_CASE("fit: small images are upscaled bilinearly with half-pixel centres") {
  // Output o samples source x = (o + 0.5) * 2/4 - 0.5 = -0.25, 0.25, 0.75, 1.25 (edges clamp).
  const Image out = fit_square(grey_image(2, 2, [](int x, int) { return 100 * x; }), 4);
  CHECK(plane(out) == Rows(4, {0, 25, 75, 100}));
  const Image one = fit_square(grey_image(1, 1, [](int, int) { return 77; }), 16);
  CHECK(plane(one) == Rows(16, std::vector<int>(16, 77)));
}

TEST_CASE("fit: a flat colour stays exactly that colour at every size") {
  for (int w : {7, 64, 333})
    for (int s : {16, 32, 64, 128}) {
      Image img;
      img.width = w, img.height = w + 5;
      for (int i = 0; i < img.width * img.height; ++i) img.rgb.insert(img.rgb.end(), {12, 200, 255});
      const Image out = fit_square(img, s);
      bool same = true;
      for (size_t i = 0; i < out.rgb.size(); i += 3)
        same &= out.rgb[i] == 12 && out.rgb[i + 1] == 200 && out.rgb[i + 2] == 255;
      INFO(w << " -> " << s);
      CHECK(same);
    }
}

TEST_CASE("fit: taps sum to one and stay inside the source") {
  for (auto [src, dst] : {std::pair{500, 64}, {64, 64}, {33, 128}, {3, 2}, {1000, 7}}) {
    const AxisTaps t = make_taps(src, dst);
    for (int o = 0; o < dst; ++o) {
      const float* w = t.w.data() + t.offset[size_t(o)];
      const float sum = std::accumulate(w, w + t.count[size_t(o)], 0.0f);
      CHECK(std::abs(sum - 1.0f) < 1e-5f);
      CHECK(t.first[size_t(o)] >= 0);
      CHECK(t.first[size_t(o)] + t.count[size_t(o)] <= src);
    }
  }
}

TEST_CASE("fit: bad sizes are errors, not crashes") {
  Image empty;
  CHECK_THROWS_AS(fit_square(empty, 64), cg::Error);
  Image img = grey_image(4, 4, [](int, int) { return 1; });
  CHECK_THROWS_AS(fit_square(img, 0), cg::Error);
}
