// k-nearest-neighbour precision and recall (see precision_recall.h). Squared
// distances by direct loops in double: the sets eval compares hold hundreds of vectors.
#include "eval/precision_recall.h"

#include <algorithm>
#include <cmath>

#include "base/check.h"

namespace cg::gan {
namespace {

double sq_dist(const double* a, const double* b, int d) {
  double s = 0;
  for (int j = 0; j < d; ++j) s += (a[j] - b[j]) * (a[j] - b[j]);
  return s;
}

// The share of rows of q within radius[i] of some row i of x.
double share_inside(const double* q, int64_t nq, const double* x, int64_t nx, const std::vector<double>& radius,
                    int d) {
  int64_t inside = 0;
#pragma omp parallel for reduction(+ : inside) schedule(static)
  for (int64_t a = 0; a < nq; ++a)
    for (int64_t i = 0; i < nx; ++i)
      if (sq_dist(q + a * d, x + i * d, d) <= radius[size_t(i)] * radius[size_t(i)]) {
        ++inside;
        break;
      }
  return nq > 0 ? double(inside) / double(nq) : 0.0;
}

}  // namespace

std::vector<double> knn_radii(const double* x, int64_t n, int d, int k) {
  CG_USER_CHECK(k >= 1 && k < n, "The k-nearest-neighbour manifold needs more than k = ", k, " vectors, got ", n, ".");
  std::vector<double> r(static_cast<size_t>(n));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> dist;
    dist.reserve(size_t(n - 1));
    for (int64_t j = 0; j < n; ++j)
      if (j != i) dist.push_back(sq_dist(x + i * d, x + j * d, d));
    std::nth_element(dist.begin(), dist.begin() + (k - 1), dist.end());
    r[size_t(i)] = std::sqrt(dist[size_t(k - 1)]);
  }
  return r;
}

PrecisionRecall precision_recall(const double* real, int64_t nr, const double* fake, int64_t nf, int d, int k) {
  PrecisionRecall pr;
  pr.k = k;
  const std::vector<double> rr = knn_radii(real, nr, d, k), rf = knn_radii(fake, nf, d, k);
  pr.precision = share_inside(fake, nf, real, nr, rr, d);
  pr.recall = share_inside(real, nr, fake, nf, rf, d);
  return pr;
}

}  // namespace cg::gan
