// MS-SSIM with fewer scales (eval --msssim-scales): the weights are the first n of the
// paper's five renormalised to sum 1 (five keep the published ones), the value is the
// product over the first n scales of the five-scale computation with those weights, one
// scale is single-scale SSIM, "auto" keeps the coarsest scale at least 8 pixels; and
// `covergan msssim --scales` prints the same.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "base/check.h"
#include "data/grid.h"
#include "eval/msssim.h"
#include "support/paths.h"
#include "support/temp_dir.h"

using namespace cg::gan;

namespace {
std::vector<float> noise_image(int S, uint32_t seed, double level) {
  std::mt19937 r(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<float> img(size_t(3 * S * S));
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x)
        img[size_t((c * S + y) * S + x)] =
            float(std::fmin(255, std::fmax(0, 128 + 70 * std::sin(0.3 * x + 0.2 * y * (c + 1)) + level * (u(r) - 0.5))));
  return img;
}
}  // namespace

TEST_CASE("msssim_weights renormalises the first n weights, five keep the paper's") {
  for (int n = 1; n <= 4; ++n) {
    INFO(n << " scales");
    const std::vector<double> w = msssim_weights(n);
    REQUIRE(w.size() == size_t(n));
    double sum = 0, raw = 0;
    for (int j = 0; j < n; ++j) sum += w[size_t(j)], raw += kMsssimWeights[j];
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-15));
    for (int j = 0; j < n; ++j) CHECK(w[size_t(j)] == doctest::Approx(kMsssimWeights[j] / raw).epsilon(1e-15));
  }
  const std::vector<double> five = msssim_weights(5);
  for (int j = 0; j < 5; ++j) CHECK(five[size_t(j)] == kMsssimWeights[j]);
  CHECK(msssim_auto_scales(16) == 2);
  CHECK(msssim_auto_scales(32) == 3);
  CHECK(msssim_auto_scales(64) == 4);
  CHECK(msssim_auto_scales(128) == 5);
  CHECK(msssim_auto_scales(256) == 5);
}

TEST_CASE("MS-SSIM with n scales combines the first n scales of the five-scale run with renormalised weights") {
  const int S = 32;
  const auto a = noise_image(S, 1, 60), b = noise_image(S, 2, 60);
  double ss[5], cs[5];
  const double five = msssim(a.data(), b.data(), 3, S, S, ss, cs);
  CHECK(five == doctest::Approx(msssim_combine(cs, ss[4])).epsilon(1e-15));
  for (int n = 1; n <= 4; ++n) {
    INFO(n << " scales");
    double ssn[5], csn[5];
    const double v = msssim(a.data(), b.data(), 3, S, S, ssn, csn, n);
    const std::vector<double> w = msssim_weights(n);
    double want = 1;
    for (int j = 0; j + 1 < n; ++j) want *= std::pow(std::fmax(cs[j], 0.0), w[size_t(j)]);
    want *= std::pow(std::fmax(ss[n - 1], 0.0), w[size_t(n - 1)]);
    CHECK(v == doctest::Approx(want).epsilon(1e-12));
    for (int j = 0; j < n; ++j) CHECK(csn[j] == cs[j]);  // the same scales, computed the same way
    CHECK(v > 0);
  }
  CHECK(msssim(a.data(), b.data(), 3, S, S, nullptr, nullptr, 1) == doctest::Approx(ssim(a.data(), b.data(), 3, S, S)));
  // With itself: 1 at any number of scales.
  for (int n = 1; n <= 5; ++n) CHECK(msssim(a.data(), a.data(), 3, S, S, nullptr, nullptr, n) == 1.0);
  CHECK_THROWS_AS(msssim(a.data(), b.data(), 3, S, S, nullptr, nullptr, 6), cg::Error);
  CHECK_THROWS_AS(msssim(a.data(), b.data(), 3, S, S, nullptr, nullptr, 0), cg::Error);
}

TEST_CASE("covergan msssim --scales auto at 32 px prints three renormalised scales and their value") {
  cgtest::TempDir dir;
  const int S = 32;
  std::vector<uint8_t> a(size_t(S * S * 3)), b(a.size());
  std::mt19937 r(7);
  for (size_t i = 0; i < a.size(); ++i) a[i] = uint8_t(r()), b[i] = uint8_t(a[i] / 2 + (r() % 64));
  cg::data::write_png_rgb(dir / "a.png", a.data(), S, S);
  cg::data::write_png_rgb(dir / "b.png", b.data(), S, S);
  auto run = [&](const std::string& args) {
    return cgtest::run_shell(cgtest::shell_quote(cgtest::binary_dir() + "/covergan") + " msssim " +
                             cgtest::shell_quote(dir / "a.png") + " " + cgtest::shell_quote(dir / "b.png") +
                             " --size 32 " + args + " 2>&1");
  };
  const auto autos = run("--scales auto -v"), three = run("--scales 3"), five = run("");
  REQUIRE(autos.exit_code == 0);
  CHECK(autos.output.find("scale 3 (8x8)") != std::string::npos);
  CHECK(autos.output.find("scale 4") == std::string::npos);
  CHECK(autos.output.find("weight 0.4760") != std::string::npos);
  const std::string last = autos.output.substr(autos.output.rfind('\n', autos.output.size() - 2) + 1);
  CHECK(last == three.output);
  CHECK(three.output != five.output);
  const auto bad = run("--scales 0");
  CHECK(bad.exit_code != 0);
  CHECK(bad.output.find("--scales takes a number from 1 to 5 or auto") != std::string::npos);
}
