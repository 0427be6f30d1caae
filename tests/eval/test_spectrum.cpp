// High-frequency energy: the mean squared Laplacian and the radial power spectrum on
// images whose answers are known: a constant (0), a checkerboard (Laplacian 8a at every
// pixel, all power at Nyquist), sines (all power in their ring), white noise (power
// spread evenly: the share above S/4 is the share of frequencies there, ~1 - pi/16).
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "eval/spectrum.h"

using namespace cg::gan;

namespace {
constexpr int S = 32;
std::vector<float> image(float (*f)(int c, int y, int x)) {
  std::vector<float> img(size_t(3 * S * S));
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x) img[size_t((c * S + y) * S + x)] = f(c, y, x);
  return img;
}
}  // namespace

TEST_CASE("the mean squared Laplacian and the power spectrum of known images") {
  const auto flat = image([](int, int, int) { return 77.0f; });
  CHECK(mean_squared_laplacian(flat.data(), S) == 0.0);
  const Spectrum fs = power_spectrum(flat.data(), S);
  for (double v : fs.ring) CHECK(std::fabs(v) < 1e-20);
  CHECK(fs.high_share == 0.0);

  const auto checker = image([](int, int y, int x) { return ((x + y) % 2) ? 138.0f : 118.0f; });  // +-10 around 128
  CHECK(mean_squared_laplacian(checker.data(), S) == doctest::Approx(6400.0));  // (8 * 10)^2
  CHECK(power_spectrum(checker.data(), S).high_share == doctest::Approx(1.0));

  const auto sine3 = image([](int, int, int x) { return float(128 + 50 * std::cos(2 * M_PI * 3 * x / S)); });
  const Spectrum s3 = power_spectrum(sine3.data(), S);
  CHECK(std::fabs(s3.high_share) < 1e-9);
  for (size_t r = 0; r < s3.ring.size(); ++r)
    if (r != 3) CHECK(std::fabs(s3.ring[r]) < 1e-6);
  CHECK(s3.ring[3] > 10.0);
  const auto sine12 = image([](int, int y, int) { return float(128 + 50 * std::sin(2 * M_PI * 12 * y / S)); });
  CHECK(power_spectrum(sine12.data(), S).high_share == doctest::Approx(1.0));

  std::mt19937 r(1);
  std::uniform_real_distribution<float> u(0, 255);
  std::vector<float> noise(size_t(200) * 3 * S * S);
  for (float& v : noise) v = u(r);
  const SetSpectrum ns = set_spectrum(noise.data(), 200, S);
  CHECK(ns.n == 200);
  CHECK(ns.high_share == doctest::Approx(1.0 - M_PI / 16.0).epsilon(0.03));
  // A flat spectrum: every ring but DC holds about the same mean power (the variance, 255^2/12).
  for (size_t k = 1; k < ns.ring.size(); ++k) CHECK(ns.ring[k] == doctest::Approx(255.0 * 255.0 / 12.0).epsilon(0.15));
  // White noise has (4^2 + 4 * 1) times its variance as mean squared Laplacian: 20 * 255^2/12.
  CHECK(ns.laplacian == doctest::Approx(20.0 * 255.0 * 255.0 / 12.0).epsilon(0.03));
}
