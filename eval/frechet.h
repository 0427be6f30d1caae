// The Fréchet distance between Gaussians fitted to two sets of feature vectors (the
// formula of FID, Heusel et al. 2017: |mu1-mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))),
// computed in any feature space; eval uses the baseline classifier's penultimate
// features (docs/EVALUATION.md says why not Inception's). Host code, double precision;
// symmetric eigendecompositions from LAPACK (dsyevd, in OpenBLAS).
#pragma once
#include <cstdint>
#include <vector>

namespace cg::gan {

struct Gaussian {
  int d = 0;
  std::vector<double> mean;  // (d)
  std::vector<double> cov;   // (d,d) row-major: the sample covariance (divided by n-1, as numpy.cov)
};
// x: (n,d) row-major, n >= 2.
Gaussian fit_gaussian(const double* x, int64_t n, int d);

// tr((S1 S2)^(1/2)) for symmetric positive semi-definite S1, S2: the eigenvalues of S1 S2
// are those of A S2 A with A = S1^(1/2), which is symmetric, so two symmetric
// eigendecompositions give it (negative rounding residue clamped to 0).
double trace_sqrt_product(const std::vector<double>& s1, const std::vector<double>& s2, int d);
double frechet_distance(const Gaussian& a, const Gaussian& b);
double frechet_distance(const double* a, int64_t na, const double* b, int64_t nb, int d);

// Eigenvalues (ascending) and, in m, the eigenvectors as columns of a (d,d) row-major
// matrix, of the symmetric matrix m (overwritten).
std::vector<double> symmetric_eigen(std::vector<double>& m, int d);

// A statistic over resamples: their mean and the 2.5 and 97.5 percentiles (numpy's
// linear interpolation), n the resamples.
struct Interval {
  double value = 0, lo = 0, hi = 0;
  int rounds = 0;
};
Interval mean_and_percentiles(std::vector<double> values);

}  // namespace cg::gan
