// The Fréchet distance against an independent computation (numpy's mean and cov,
// scipy.linalg.sqrtm, as pytorch-fid computes FID) to 1e-6, ~0 for a set against itself,
// |c|^2 for a set against itself shifted by c; the resampling summary's percentiles;
// precision and recall (k-NN manifolds) are 1 for a set against itself and fall for a
// planted collapsed set (recall) or a displaced one (precision).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "base/check.h"
#include "eval/frechet.h"
#include "eval/precision_recall.h"
#include "support/paths.h"
#include "support/skip.h"
#include "support/temp_dir.h"

using namespace cg::gan;

namespace {

// n correlated Gaussian vectors: x = m + L z with a random lower-triangular L.
std::vector<double> correlated(int64_t n, int d, uint32_t seed, double shift) {
  std::mt19937 r(seed);
  std::normal_distribution<double> g(0, 1);
  std::vector<double> L(static_cast<size_t>(d * d), 0.0), m(static_cast<size_t>(d));
  for (int i = 0; i < d; ++i) {
    m[size_t(i)] = shift + 0.3 * g(r);
    for (int j = 0; j <= i; ++j) L[size_t(i * d + j)] = (i == j ? 1.0 : 0.4) * g(r);
  }
  std::vector<double> x(static_cast<size_t>(n * d)), z(static_cast<size_t>(d));
  for (int64_t k = 0; k < n; ++k) {
    for (auto& v : z) v = g(r);
    for (int i = 0; i < d; ++i) {
      double s = m[size_t(i)];
      for (int j = 0; j <= i; ++j) s += L[size_t(i * d + j)] * z[size_t(j)];
      x[size_t(k * d + i)] = s;
    }
  }
  return x;
}

void write_rows(const std::string& path, const std::vector<double>& x, int d) {
  std::ofstream f(path);
  char buf[32];
  for (size_t i = 0; i < x.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%.17g", x[i]);
    f << buf << ((i + 1) % size_t(d) == 0 ? "\n" : " ");
  }
}

}  // namespace

TEST_CASE("the Frechet distance matches numpy and scipy.linalg.sqrtm to 1e-6") {
  const cgtest::Python& py = cgtest::python_with("numpy, scipy");
  if (py.path.empty()) {
    if (cgtest::torch_optional()) CG_SKIP(py.reason);
    FAIL(py.reason);
  }
  cgtest::TempDir dir("frechet");
  const std::string script = (dir.path() / "fid.py").string();
  std::ofstream(script) << "import sys, numpy as np, scipy.linalg\n"
                           "a = np.loadtxt(sys.argv[1], ndmin=2); b = np.loadtxt(sys.argv[2], ndmin=2)\n"
                           "m1, m2 = a.mean(0), b.mean(0); s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)\n"
                           "c = scipy.linalg.sqrtm(s1.dot(s2)).real\n"
                           "print('%.17g' % (((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(c)))\n";
  struct Case {
    int64_t na, nb;
    int d;
    double shift;
  };
  for (const Case& c : {Case{200, 150, 8, 0.5}, Case{400, 300, 32, 0.1}, Case{120, 90, 16, 2.0}, Case{60, 500, 4, 0.0}}) {
    INFO("na " << c.na << " nb " << c.nb << " d " << c.d);
    const auto a = correlated(c.na, c.d, 1, 0.0), b = correlated(c.nb, c.d, 2, c.shift);
    write_rows((dir.path() / "a.txt").string(), a, c.d);
    write_rows((dir.path() / "b.txt").string(), b, c.d);
    const auto r = cgtest::run_shell(cgtest::shell_quote(py.path) + " " + cgtest::shell_quote(script) + " " +
                                     cgtest::shell_quote((dir.path() / "a.txt").string()) + " " +
                                     cgtest::shell_quote((dir.path() / "b.txt").string()));
    REQUIRE(r.exit_code == 0);
    const double ref = std::stod(r.output);
    const double ours = frechet_distance(a.data(), c.na, b.data(), c.nb, c.d);
    INFO("ours " << ours << " numpy/scipy " << ref);
    CHECK(std::fabs(ours - ref) <= 1e-6 * std::max(1.0, std::fabs(ref)));
  }
}

TEST_CASE("the Frechet distance of a set against itself is ~0, against itself shifted by c it is |c|^2") {
  const int d = 24;
  const auto a = correlated(300, d, 5, 1.0);
  const double self = frechet_distance(a.data(), 300, a.data(), 300, d);
  CHECK(self >= 0);
  CHECK(self < 1e-8);
  std::vector<double> b = a;
  double c2 = 0;
  for (int64_t i = 0; i < 300; ++i)
    for (int j = 0; j < d; ++j) b[size_t(i * d + j)] += 0.1 * (j - 10);
  for (int j = 0; j < d; ++j) c2 += 0.01 * (j - 10) * (j - 10);
  CHECK(frechet_distance(a.data(), 300, b.data(), 300, d) == doctest::Approx(c2).epsilon(1e-8));
  // The resampling summary: mean and numpy-style percentiles.
  std::vector<double> v;
  for (int i = 100; i >= 0; --i) v.push_back(double(i));
  const Interval iv = mean_and_percentiles(v);
  CHECK(iv.value == 50.0);
  CHECK(iv.lo == doctest::Approx(2.5));
  CHECK(iv.hi == doctest::Approx(97.5));
  CHECK(iv.rounds == 101);
  CHECK(mean_and_percentiles({}).rounds == 0);
}

TEST_CASE("precision and recall are 1 for a set against itself and fall for a collapsed or displaced set") {
  const int d = 16;
  const int64_t n = 300;
  const auto real = correlated(n, d, 11, 0.0);
  const PrecisionRecall self = precision_recall(real.data(), n, real.data(), n, d);
  CHECK(self.precision == 1.0);
  CHECK(self.recall == 1.0);
  // Collapse: every generated vector is one of 5 real ones plus a little noise. They lie
  // on the real manifold (precision stays high) but cover little of it (recall falls).
  std::mt19937 r(3);
  std::normal_distribution<double> g(0, 0.01);
  std::vector<double> collapsed(static_cast<size_t>(n * d));
  for (int64_t i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j) collapsed[size_t(i * d + j)] = real[size_t((i % 5) * 37 * d + j)] + g(r);
  const PrecisionRecall c = precision_recall(real.data(), n, collapsed.data(), n, d);
  INFO("collapsed: precision " << c.precision << " recall " << c.recall);
  CHECK(c.precision >= 0.95);
  CHECK(c.recall <= 0.1);
  // Displaced: the same spread far away: neither manifold holds the other's points.
  std::vector<double> far = real;
  for (double& v : far) v += 50.0;
  const PrecisionRecall f = precision_recall(real.data(), n, far.data(), n, d);
  CHECK(f.precision == 0.0);
  CHECK(f.recall == 0.0);
  // knn_radii on a line: 0, 1, 3, 6 -> second neighbours at 3, 2, 3, 5.
  const std::vector<double> line = {0, 1, 3, 6};
  const std::vector<double> rad = knn_radii(line.data(), 4, 1, 2);
  CHECK(rad == std::vector<double>{3, 2, 3, 5});
  CHECK_THROWS_AS(knn_radii(line.data(), 4, 1, 4), cg::Error);
}
