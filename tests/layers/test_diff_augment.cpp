// DiffAugment: each op's forward against the reference code's formulation written out
// here (brightness, saturation, contrast one after the other with their means; gather
// with zero fill; a zeroed rectangle), gradients by central differences in double,
// backward accumulating, the drawn parameters within the reference's ranges, and bad input.
#include <cmath>
#include <random>

#include "layers/diff_augment.h"
#include "support/check.h"

using namespace cg;
using cgtest::random_tensor;

namespace {

// The reference (Zhao et al.'s DiffAugment_pytorch.py) step by step on host vectors.
std::vector<double> color_reference(const std::vector<double>& x, const std::vector<double>& p, int64_t N,
                                    int64_t C, int64_t HW) {
  std::vector<double> y = x;
  for (int64_t n = 0; n < N; ++n) {
    double* yn = y.data() + n * C * HW;
    for (int64_t i = 0; i < C * HW; ++i) yn[i] += p[size_t(n * 3)];  // rand_brightness
    for (int64_t q = 0; q < HW; ++q) {                                // rand_saturation
      double m = 0;
      for (int64_t c = 0; c < C; ++c) m += yn[c * HW + q];
      m /= double(C);
      for (int64_t c = 0; c < C; ++c) yn[c * HW + q] = (yn[c * HW + q] - m) * p[size_t(n * 3 + 1)] + m;
    }
    double m = 0;  // rand_contrast
    for (int64_t i = 0; i < C * HW; ++i) m += yn[i];
    m /= double(C * HW);
    for (int64_t i = 0; i < C * HW; ++i) yn[i] = (yn[i] - m) * p[size_t(n * 3 + 2)] + m;
  }
  return y;
}

Tensor params(const std::vector<double>& v, int64_t N, int64_t w) {
  return Tensor::from(v, Shape{N, w}, DType::f64);
}

}  // namespace

TEST_CASE("diffaug_color matches brightness, saturation and contrast applied one after another") {
  std::mt19937 rng(3);
  const Tensor x = random_tensor(Shape{3, 3, 5, 4}, rng);
  const std::vector<double> p = {0.3, 1.7, 0.6, -0.45, 0.1, 1.4, 0.0, 1.0, 1.0};
  const Tensor y = diffaug_color(nullptr, x, params(p, 3, 3));
  CHECK_CLOSE_T(y.to_vector(), color_reference(x.to_vector(), p, 3, 3, 20), 1e-13, 1e-12);
  // The identity parameters (0, 1, 1) give x back; float agrees with double.
  const Tensor id = diffaug_color(nullptr, x, params({0, 1, 1, 0, 1, 1, 0, 1, 1}, 3, 3));
  CHECK_CLOSE_T(id.to_vector(), x.to_vector(), 1e-14, 0);
  const Tensor yf = diffaug_color(nullptr, x.to(DType::f32), params(p, 3, 3).to(DType::f32));
  CHECK_CLOSE_T(yf.to_vector(), y.to_vector(), 1e-6, 1e-6);
}

TEST_CASE("diffaug_translate shifts by whole pixels with zero fill, diffaug_cutout zeroes its rectangle") {
  std::vector<double> v(2 * 1 * 4 * 5);
  for (size_t i = 0; i < v.size(); ++i) v[i] = double(i + 1);
  const Tensor x = Tensor::from(v, Shape{2, 1, 4, 5}, DType::f64);
  const auto t = diffaug_translate(nullptr, x, params({1, -2, 0, 0}, 2, 2)).to_vector();
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 5; ++j) {
      const int64_t si = i + 1, sj = j - 2;
      const double want = (si < 4 && sj >= 0) ? v[size_t(si * 5 + sj)] : 0.0;
      CHECK(t[size_t(i * 5 + j)] == want);
      CHECK(t[size_t(20 + i * 5 + j)] == v[size_t(20 + i * 5 + j)]);  // sample 1: no shift
    }
  const auto c = diffaug_cutout(nullptr, x, params({1, 3, 2, 5, 0, 0, 0, 0}, 2, 4)).to_vector();
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 5; ++j) {
      const bool cut = i >= 1 && i < 3 && j >= 2 && j < 5;
      CHECK(c[size_t(i * 5 + j)] == (cut ? 0.0 : v[size_t(i * 5 + j)]));
      CHECK(c[size_t(20 + i * 5 + j)] == v[size_t(20 + i * 5 + j)]);  // an empty rectangle
    }
}

TEST_CASE("DiffAugment gradients match finite differences and accumulate") {
  std::mt19937 rng(5);
  Tensor x = random_tensor(Shape{3, 3, 6, 6}, rng);
  x.set_requires_grad(true);
  const Tensor pc = params({0.3, 1.7, 0.6, -0.45, 0.1, 1.4, 0.2, 0.5, 0.9}, 3, 3);
  const Tensor pt = params({1, -2, -3, 0, 0, 3}, 3, 2);
  const Tensor pk = params({1, 4, 2, 6, 0, 3, 0, 3, 5, 6, 5, 6}, 3, 4);
  CHECK_GRADCHECK([&](Tape* t) { return diffaug_color(t, x, pc); }, (std::vector<Tensor>{x}), 1e-6);
  CHECK_GRADCHECK([&](Tape* t) { return diffaug_translate(t, x, pt); }, (std::vector<Tensor>{x}), 1e-6);
  CHECK_GRADCHECK([&](Tape* t) { return diffaug_cutout(t, x, pk); }, (std::vector<Tensor>{x}), 1e-6);
  DiffAugDraw d{pc, pt, pk};
  CHECK_GRADCHECK([&](Tape* t) { return diff_augment(t, x, d); }, (std::vector<Tensor>{x}), 1e-6);
  // Two backward passes over the same upstream gradient double every input gradient.
  Tensor x2 = x.clone();
  x2.set_requires_grad(true);
  std::vector<std::vector<double>> once;
  for (int pass = 0; pass < 2; ++pass) {
    Tape tape;
    const Tensor y = diff_augment(&tape, x2, d);
    tape.backward(y, Tensor::full(y.shape(), 0.5, DType::f64));
    if (pass == 0) once.push_back(x2.grad().to_vector());
  }
  cgtest::check_gradients_doubled({&x2}, once);
}

TEST_CASE("draw_diffaug draws within the reference's ranges and parse_diffaug_policy refuses unknown parts") {
  Philox rng(11);
  const DiffAugPolicy all = parse_diffaug_policy("color,translation,cutout");
  CHECK(all.str() == "color,translation,cutout");
  const DiffAugDraw d = draw_diffaug(rng, all, 200, 32, 32, Device::cpu);
  const auto c = d.color.to_vector(), t = d.translation.to_vector(), k = d.cutout.to_vector();
  double tmin = 0, tmax = 0;
  for (int n = 0; n < 200; ++n) {
    CHECK(std::fabs(c[size_t(n * 3)]) <= 0.5);
    CHECK((c[size_t(n * 3 + 1)] >= 0 && c[size_t(n * 3 + 1)] <= 2));
    CHECK((c[size_t(n * 3 + 2)] >= 0.5 && c[size_t(n * 3 + 2)] <= 1.5));
    for (int a = 0; a < 2; ++a) {
      const double s = t[size_t(n * 2 + a)];
      CHECK(s == std::round(s));
      CHECK(std::fabs(s) <= 4);  // 32 * 1/8
      tmin = std::min(tmin, s), tmax = std::max(tmax, s);
    }
    const double r0 = k[size_t(n * 4)], r1 = k[size_t(n * 4 + 1)], c0 = k[size_t(n * 4 + 2)], c1 = k[size_t(n * 4 + 3)];
    CHECK((r0 >= 0 && r1 <= 32 && r0 < r1 && r1 - r0 <= 16));
    CHECK((c0 >= 0 && c1 <= 32 && c0 < c1 && c1 - c0 <= 16));
  }
  CHECK(tmin == -4);  // 200 draws reach both ends of [-4, 4]
  CHECK(tmax == 4);
  CHECK_FALSE(parse_diffaug_policy("").any());
  CHECK(parse_diffaug_policy("cutout").str() == "cutout");
  CHECK_THROWS_WITH_AS(parse_diffaug_policy("color,flip"), doctest::Contains("not a comma list"), Error);
  CHECK_THROWS_AS(diffaug_color(nullptr, Tensor::zeros(Shape{2, 3, 4, 4}, DType::f64), params({0, 1, 1}, 1, 3)),
                  Error);
}
