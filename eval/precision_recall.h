// Improved precision and recall (Kynkäänniemi, Karras, Laine, Lehtinen & Aila 2019):
// each set's manifold is the union of balls around its feature vectors, each ball as
// wide as the distance to that vector's k-th nearest neighbour in its own set.
// Precision: the share of generated vectors inside the real manifold (fidelity);
// recall: the share of real vectors inside the generated manifold (diversity).
#pragma once
#include <cstdint>
#include <vector>

namespace cg::gan {

struct PrecisionRecall {
  double precision = 0, recall = 0;
  int k = 3;
};

// The distance from each row of x (n,d) to its k-th nearest other row (k < n).
std::vector<double> knn_radii(const double* x, int64_t n, int d, int k);
// real (nr,d), fake (nf,d) row-major; k = 3 as the paper recommends.
PrecisionRecall precision_recall(const double* real, int64_t nr, const double* fake, int64_t nf, int d, int k = 3);

}  // namespace cg::gan
