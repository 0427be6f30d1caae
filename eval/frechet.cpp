// Fréchet distance (see frechet.h).
#include "eval/frechet.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "base/check.h"

extern "C" void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
                        double* work, const int* lwork, int* iwork, const int* liwork, int* info);

namespace cg::gan {

Gaussian fit_gaussian(const double* x, int64_t n, int d) {
  CG_USER_CHECK(n >= 2 && d >= 1, "A Gaussian needs at least 2 feature vectors, got ", n, ".");
  Gaussian g;
  g.d = d;
  g.mean.assign(size_t(d), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j) g.mean[size_t(j)] += x[i * d + j];
  for (double& m : g.mean) m /= double(n);
  std::vector<double> c(size_t(n) * size_t(d));  // centred rows
  for (int64_t i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j) c[size_t(i * d + j)] = x[i * d + j] - g.mean[size_t(j)];
  g.cov.assign(size_t(d) * size_t(d), 0.0);
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, int(n), 1.0 / double(n - 1), c.data(), d, 0.0, g.cov.data(), d);
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < i; ++j) g.cov[size_t(i * d + j)] = g.cov[size_t(j * d + i)];
  return g;
}

std::vector<double> symmetric_eigen(std::vector<double>& m, int d) {
  CG_CHECK(m.size() == size_t(d) * size_t(d), "symmetric_eigen: ", m.size(), " values for ", d, "x", d);
  std::vector<double> w(static_cast<size_t>(d));
  // Row-major symmetric = column-major symmetric; LAPACK returns the eigenvectors in its
  // columns, i.e. our rows: transpose afterwards so they are our columns.
  int n = d, info = 0, lwork = -1, liwork = -1, iwq = 0;
  double wq = 0;
  dsyevd_("V", "U", &n, m.data(), &n, w.data(), &wq, &lwork, &iwq, &liwork, &info);
  lwork = int(wq), liwork = iwq;
  std::vector<double> work(size_t(std::max(lwork, 1)));
  std::vector<int> iwork(size_t(std::max(liwork, 1)));
  dsyevd_("V", "U", &n, m.data(), &n, w.data(), work.data(), &lwork, iwork.data(), &liwork, &info);
  CG_USER_CHECK(info == 0, "The eigendecomposition of a ", d, "x", d, " covariance failed (LAPACK dsyevd info ", info,
                ").");
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < i; ++j) std::swap(m[size_t(i * d + j)], m[size_t(j * d + i)]);
  return w;
}

double trace_sqrt_product(const std::vector<double>& s1, const std::vector<double>& s2, int d) {
  std::vector<double> u = s1;
  const std::vector<double> l = symmetric_eigen(u, d);  // s1 = U diag(l) U^T
  // A = U diag(sqrt l) U^T, then M = A s2 A.
  std::vector<double> us(u.size());
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < d; ++j) us[size_t(i * d + j)] = u[size_t(i * d + j)] * std::sqrt(std::max(l[size_t(j)], 0.0));
  std::vector<double> a(u.size()), t(u.size()), m(u.size());
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d, d, d, 1.0, us.data(), d, u.data(), d, 0.0, a.data(), d);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, a.data(), d, s2.data(), d, 0.0, t.data(), d);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, t.data(), d, a.data(), d, 0.0, m.data(), d);
  for (int i = 0; i < d; ++i)  // symmetric up to rounding: make it exactly so for dsyevd
    for (int j = 0; j < i; ++j) m[size_t(i * d + j)] = m[size_t(j * d + i)] = 0.5 * (m[size_t(i * d + j)] + m[size_t(j * d + i)]);
  const std::vector<double> mu = symmetric_eigen(m, d);
  double tr = 0;
  for (double v : mu) tr += std::sqrt(std::max(v, 0.0));
  return tr;
}

double frechet_distance(const Gaussian& a, const Gaussian& b) {
  CG_CHECK(a.d == b.d, "frechet_distance: ", a.d, " against ", b.d, " dimensions");
  const int d = a.d;
  double dm = 0, tr = 0;
  for (int j = 0; j < d; ++j) {
    const double e = a.mean[size_t(j)] - b.mean[size_t(j)];
    dm += e * e;
    tr += a.cov[size_t(j * d + j)] + b.cov[size_t(j * d + j)];
  }
  return std::max(0.0, dm + tr - 2.0 * trace_sqrt_product(a.cov, b.cov, d));
}

double frechet_distance(const double* a, int64_t na, const double* b, int64_t nb, int d) {
  return frechet_distance(fit_gaussian(a, na, d), fit_gaussian(b, nb, d));
}

Interval mean_and_percentiles(std::vector<double> v) {
  Interval r;
  r.rounds = int(v.size());
  if (v.empty()) return r;
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  r.value = sum / double(v.size());
  auto pct = [&](double p) {
    const double at = p * double(v.size() - 1);
    const size_t lo = size_t(at);
    const double f = at - double(lo);
    return lo + 1 < v.size() ? v[lo] * (1 - f) + v[lo + 1] * f : v[lo];
  };
  r.lo = pct(0.025);
  r.hi = pct(0.975);
  return r;
}

}  // namespace cg::gan
