// High-frequency energy: the mean squared Laplacian and the radial power spectrum on
// images whose answers are known: a constant (0), a checkerboard (Laplacian 8a at every
// pixel, all power at Nyquist), sines (all power in their ring), white noise (power
// spread evenly: the share above S/4 is the share of frequencies there, ~1 - pi/16). The
// rings run to the spectrum's corner: a checkerboard's power is at (S/2, S/2), radius
// S/sqrt(2), not in ring S/2, and it is the corners' power.
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
  CHECK(fs.corner_power == 0.0);
  CHECK(spectrum_rings(32) == 24);  // 0 .. round(22.6)
  CHECK(spectrum_rings(64) == 46);  // 0 .. round(45.3)
  CHECK(fs.ring.size() == 24);

  const auto checker = image([](int, int y, int x) { return ((x + y) % 2) ? 138.0f : 118.0f; });  // +-10 around 128
  CHECK(mean_squared_laplacian(checker.data(), S) == doctest::Approx(6400.0));  // (8 * 10)^2
  const Spectrum cs = power_spectrum(checker.data(), S);
  CHECK(cs.high_share == doctest::Approx(1.0));
  // One frequency, (16, 16): amplitude 10 over S*S pixels, |DFT|^2 / (S*S) = 100 * S*S, all in the last ring.
  for (size_t r = 0; r + 1 < cs.ring.size(); ++r) CHECK(std::fabs(cs.ring[r]) < 1e-6);
  CHECK(cs.ring.back() == doctest::Approx(100.0 * S * S));
  CHECK(cs.corner_power > 1.0);
  // Stripes at Nyquist along one axis: ring S/2, not a corner.
  const auto stripes = image([](int, int, int x) { return (x % 2) ? 138.0f : 118.0f; });
  const Spectrum ss = power_spectrum(stripes.data(), S);
  CHECK(ss.ring[S / 2] > 1.0);
  CHECK(std::fabs(ss.corner_power) < 1e-6);
  for (size_t r = S / 2 + 1; r < ss.ring.size(); ++r) CHECK(std::fabs(ss.ring[r]) < 1e-6);

  const auto sine3 = image([](int, int, int x) { return float(128 + 50 * std::cos(2 * M_PI * 3 * x / S)); });
  const Spectrum s3 = power_spectrum(sine3.data(), S);
  CHECK(std::fabs(s3.high_share) < 1e-9);
  CHECK(std::fabs(s3.corner_power) < 1e-6);
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
  // A flat spectrum: every ring but DC holds about the same mean power (the variance, 255^2/12),
  // and so do the corners (their outermost rings hold a frequency or two: checked together).
  CHECK(ns.ring.size() == 24);
  for (size_t k = 1; k <= S / 2; ++k) CHECK(ns.ring[k] == doctest::Approx(255.0 * 255.0 / 12.0).epsilon(0.15));
  CHECK(ns.corner_power == doctest::Approx(255.0 * 255.0 / 12.0).epsilon(0.05));
  // White noise has (4^2 + 4 * 1) times its variance as mean squared Laplacian: 20 * 255^2/12.
  CHECK(ns.laplacian == doctest::Approx(20.0 * 255.0 * 255.0 / 12.0).epsilon(0.03));
}
