// MS-SSIM against the definition: identical images give exactly 1, symmetry,
// monotone in noise and blur, agreement with an independent direct 2-D computation
// written here from the published formulas, and single-scale SSIM against
// scikit-image (Debian's python3-skimage) to 1e-6.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "support/temp_dir.h"
#include "eval/msssim.h"
#include "support/paths.h"
#include "support/skip.h"

using cg::gan::msssim;

namespace {

// A smooth coloured pattern with some texture, integer values on [0,255]. (3,S,S)
std::vector<float> pattern(int S, uint32_t seed) {
  std::mt19937 r(seed);
  std::uniform_real_distribution<double> u(0, 1);
  const double fx = 0.1 + 0.3 * u(r), fy = 0.1 + 0.3 * u(r), ph = 6.28 * u(r);
  std::vector<float> img(size_t(3 * S * S));
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x) {
        const double v = 128 + 80 * std::sin(fx * x + fy * y * (c + 1) + ph) + 30 * (u(r) - 0.5);
        img[size_t((c * S + y) * S + x)] = float(std::round(std::fmin(255, std::fmax(0, v))));
      }
  return img;
}

std::vector<float> add_noise(std::vector<float> img, double sigma, uint32_t seed) {
  std::mt19937 r(seed);
  std::normal_distribution<double> n(0, sigma);
  for (float& v : img) v = float(std::fmin(255, std::fmax(0, v + n(r))));
  return img;
}

std::vector<float> box_blur(const std::vector<float>& img, int S, int rad) {
  std::vector<float> out(img.size());
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x) {
        double s = 0;
        int n = 0;
        for (int dy = -rad; dy <= rad; ++dy)
          for (int dx = -rad; dx <= rad; ++dx) {
            const int yy = y + dy, xx = x + dx;
            if (yy < 0 || xx < 0 || yy >= S || xx >= S) continue;
            s += img[size_t((c * S + yy) * S + xx)], ++n;
          }
        out[size_t((c * S + y) * S + x)] = float(s / n);
      }
  return out;
}

// The reference, written independently of eval/msssim.cpp: the 2-D window of the
// reference code (_FSpecialGauss: offsets -r..r, shifted by 0.5 for an even size),
// direct "valid" 2-D correlation, sigma^2 = E[x^2] - mu^2, Wang et al.'s l, c, s terms;
// (3,H,W) images, H and W any sizes (an odd side drops its last row or column when pooled).
double reference_msssim(std::vector<double> a, std::vector<double> b, int H, int W) {
  const double w[5] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};
  const double C1 = std::pow(0.01 * 255, 2), C2 = std::pow(0.03 * 255, 2);
  double result = 1;
  for (int level = 0; level < 5; ++level) {
    const int size = std::min({11, H, W});
    const double sigma = size * 1.5 / 11;
    const int radius = size / 2;
    const double offset = size % 2 == 0 ? 0.5 : 0.0;
    std::vector<double> g(size_t(size * size));
    double gs = 0;
    for (int i = 0; i < size; ++i)
      for (int j = 0; j < size; ++j) {
        const double x = offset - radius + i, y = offset - radius + j;
        gs += g[size_t(i * size + j)] = std::exp(-(x * x + y * y) / (2 * sigma * sigma));
      }
    for (double& v : g) v /= gs;
    const int OH = H - size + 1, OW = W - size + 1;
    double ssim_sum = 0, cs_sum = 0;
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < OH; ++y)
        for (int x = 0; x < OW; ++x) {
          double m1 = 0, m2 = 0, s11 = 0, s22 = 0, s12 = 0;
          for (int i = 0; i < size; ++i)
            for (int j = 0; j < size; ++j) {
              const double p = a[size_t((c * H + y + i) * W + x + j)], q = b[size_t((c * H + y + i) * W + x + j)];
              const double gw = g[size_t(i * size + j)];
              m1 += gw * p, m2 += gw * q, s11 += gw * p * p, s22 += gw * q * q, s12 += gw * p * q;
            }
          s11 -= m1 * m1, s22 -= m2 * m2, s12 -= m1 * m2;
          const double cs = (2 * s12 + C2) / (s11 + s22 + C2);
          cs_sum += cs;
          ssim_sum += (2 * m1 * m2 + C1) / (m1 * m1 + m2 * m2 + C1) * cs;
        }
    const double n = 3.0 * OH * OW;
    if (level < 4) {
      result *= std::pow(std::max(cs_sum / n, 0.0), w[level]);
      const int h = H / 2, wd = W / 2;  // 2x2 means; an odd last row or column is dropped
      std::vector<double> pa(size_t(3 * h * wd)), pb(pa.size());
      for (int c = 0; c < 3; ++c)
        for (int y = 0; y < h; ++y)
          for (int x = 0; x < wd; ++x) {
            auto at = [&](const std::vector<double>& v, int yy, int xx) { return v[size_t((c * H + yy) * W + xx)]; };
            pa[size_t((c * h + y) * wd + x)] =
                (at(a, 2 * y, 2 * x) + at(a, 2 * y + 1, 2 * x) + at(a, 2 * y, 2 * x + 1) + at(a, 2 * y + 1, 2 * x + 1)) / 4;
            pb[size_t((c * h + y) * wd + x)] =
                (at(b, 2 * y, 2 * x) + at(b, 2 * y + 1, 2 * x) + at(b, 2 * y, 2 * x + 1) + at(b, 2 * y + 1, 2 * x + 1)) / 4;
          }
      a.swap(pa), b.swap(pb), H = h, W = wd;
    } else {
      result *= std::pow(std::max(ssim_sum / n, 0.0), w[level]);
    }
  }
  return result;
}

// A (3,H,W) pattern like pattern() for any shape.
std::vector<float> pattern_hw(int H, int W, uint32_t seed) {
  std::mt19937 r(seed);
  std::uniform_real_distribution<double> u(0, 1);
  const double fx = 0.1 + 0.3 * u(r), fy = 0.1 + 0.3 * u(r), ph = 6.28 * u(r);
  std::vector<float> img(size_t(3 * H * W));
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x) {
        const double v = 128 + 80 * std::sin(fx * x + fy * y * (c + 1) + ph) + 30 * (u(r) - 0.5);
        img[size_t((c * H + y) * W + x)] = float(std::round(std::fmin(255, std::fmax(0, v))));
      }
  return img;
}

double reference_of(const std::vector<float>& a, const std::vector<float>& b, int H, int W) {
  return reference_msssim(std::vector<double>(a.begin(), a.end()), std::vector<double>(b.begin(), b.end()), H, W);
}

double ms(const std::vector<float>& a, const std::vector<float>& b, int S) { return msssim(a.data(), b.data(), 3, S, S); }

}  // namespace

TEST_CASE("MS-SSIM of an image with itself is exactly 1 and the measure is symmetric") {
  for (int S : {16, 32, 64}) {
    const auto a = pattern(S, 1), b = add_noise(pattern(S, 2), 10, 3);
    CHECK(ms(a, a, S) == 1.0);
    CHECK(ms(b, b, S) == 1.0);
    CHECK(std::fabs(ms(a, b, S) - ms(b, a, S)) < 1e-14);
    CHECK(ms(a, b, S) < 1.0);
  }
}

TEST_CASE("MS-SSIM falls as noise and blur grow") {
  const int S = 64;
  const auto a = pattern(S, 5);
  double prev = 1.0;
  for (double sigma : {4.0, 12.0, 30.0, 70.0}) {
    const double v = ms(a, add_noise(a, sigma, 9), S);
    CHECK(v < prev);
    prev = v;
  }
  prev = 1.0;
  for (int rad : {1, 2, 4}) {
    const double v = ms(a, box_blur(a, S, rad), S);
    CHECK(v < prev);
    prev = v;
  }
}

TEST_CASE("MS-SSIM agrees with an independent direct computation to 1e-6") {
  for (int S : {16, 32, 64}) {
    for (uint32_t k = 0; k < 3; ++k) {
      const auto a = pattern(S, 10 + k);
      const std::vector<float> b = k == 0 ? add_noise(a, 25, 20 + k) : k == 1 ? box_blur(a, S, 1) : pattern(S, 30 + k);
      const double mine = ms(a, b, S);
      const double ref = reference_of(a, b, S, S);
      INFO("S ", S, " pair ", k, ": ", mine, " vs ", ref);
      CHECK(std::fabs(mine - ref) < 1e-6);
    }
  }
  // Many pairs at once (the OpenMP path) give the single-pair numbers.
  const int S = 32;
  std::vector<float> set;
  for (uint32_t i = 0; i < 4; ++i) {
    const auto p = add_noise(pattern(S, 40 + i), 5.0 * i, i);
    set.insert(set.end(), p.begin(), p.end());
  }
  const std::vector<std::pair<int64_t, int64_t>> pairs{{0, 1}, {2, 3}, {3, 0}, {1, 1}};
  const auto v = cg::gan::msssim_pairs(set.data(), set.data(), 3, S, S, pairs);
  const size_t img = size_t(3 * S * S);
  for (size_t i = 0; i < pairs.size(); ++i)
    CHECK(v[i] == msssim(set.data() + size_t(pairs[i].first) * img, set.data() + size_t(pairs[i].second) * img, 3, S, S));
  CHECK(v[3] == 1.0);
}

TEST_CASE("MS-SSIM agrees with the direct computation at odd scales and non-square sizes and anti-correlated pairs") {
  // 24 and 40 halve to odd sides (3 and 5), where pooling drops the last row and column;
  // (40,24), (24,56) and (17,33) are not square, and 17 and 33 are odd from the start.
  for (const auto& [H, W] : {std::pair{24, 24}, {40, 40}, {40, 24}, {24, 56}, {17, 33}}) {
    for (uint32_t k = 0; k < 2; ++k) {
      const auto a = pattern_hw(H, W, 50 + k);
      const auto b = k == 0 ? pattern_hw(H, W, 60 + k) : add_noise(a, 20, 70 + k);
      const double mine = msssim(a.data(), b.data(), 3, H, W), ref = reference_of(a, b, H, W);
      INFO(H, "x", W, " pair ", k, ": ", mine, " vs ", ref);
      CHECK(std::fabs(mine - ref) < 1e-6);
    }
  }
  // b = 255 - a: every CS is negative, so only the clamp max(CS, 0) keeps the result from
  // being NaN (a negative number to a fractional power); it is 0, as the reference says.
  for (int S : {16, 32, 40}) {
    const auto a = pattern_hw(S, S, 80);
    std::vector<float> b(a.size());
    for (size_t i = 0; i < a.size(); ++i) b[i] = 255.0f - a[i];
    double cs[5];
    const double mine = msssim(a.data(), b.data(), 3, S, S, nullptr, cs), ref = reference_of(a, b, S, S);
    INFO("S ", S, ": ", mine, " vs ", ref, ", CS at scale 1 ", cs[0]);
    CHECK(cs[0] < 0);  // the case the clamp exists for
    CHECK(std::isfinite(mine));
    CHECK(std::fabs(mine - ref) < 1e-9);
  }
}

TEST_CASE("single-scale SSIM agrees with scikit-image to 1e-6") {
  cgtest::TempDir dir;
  const int S = 32;
  const auto a = pattern(S, 7), b = add_noise(box_blur(a, S, 1), 15, 8);
  {
    std::ofstream f(dir / "ab.f32", std::ios::binary);  // (2,3,S,S) float32
    f.write(reinterpret_cast<const char*>(a.data()), std::streamsize(a.size() * 4));
    f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size() * 4));
  }
  const std::string py =
      "import numpy as np, sys\n"
      "from skimage.metrics import structural_similarity as ssim\n"
      "x = np.fromfile(sys.argv[1], dtype=np.float32).reshape(2, 3, " + std::to_string(S) + ", " + std::to_string(S) +
      ").astype(np.float64).transpose(0, 2, 3, 1)\n"
      "print('%.17g' % ssim(x[0], x[1], gaussian_weights=True, sigma=1.5, use_sample_covariance=False,\n"
      "                     data_range=255, channel_axis=-1))\n";
  {
    std::ofstream(dir / "ssim.py") << py;
  }
  // The Python that has torch has Debian's numpy and skimage beside it (scripts/deps.sh);
  // a carried GPU bundle (COVERGAN_TORCH_OPTIONAL=1) may lack skimage and then skips.
  const auto& python = cgtest::python_with_torch();
  if (python.path.empty() && cgtest::torch_optional()) CG_SKIP(python.reason);
  REQUIRE_MESSAGE(!python.path.empty(), python.reason);
  const std::string cmd =
      cgtest::shell_quote(python.path) + " " + (dir / "ssim.py") + " " + (dir / "ab.f32") + " 2>&1";
  const auto ran = cgtest::run_shell(cmd);
  REQUIRE(ran.exit_code != -1);  // it started
  const int rc = ran.exit_code;
  const std::string& out = ran.output;
  if (rc != 0 && out.find("No module named 'skimage'") != std::string::npos && cgtest::torch_optional())
    CG_SKIP("the python with torch has no skimage (Debian's python3-skimage)");
  INFO("python3 with skimage (scripts/deps.sh installs python3-skimage) said: ", out);
  REQUIRE(rc == 0);
  const double theirs = std::stod(out);
  const double mine = cg::gan::ssim(a.data(), b.data(), 3, S, S);
  INFO("covergan ", mine, " skimage ", theirs);
  CHECK(std::fabs(mine - theirs) < 1e-6);
  CHECK(theirs < 0.99);  // a pair far enough apart for the comparison to mean something
}
