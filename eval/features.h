// The baseline classifier's penultimate features, the space eval's Fréchet distance and
// precision/recall are computed in: the last conv block's output (after BatchNorm and
// LeakyReLU), averaged over its 4x4 positions, one C0-vector per image (C0 = 128 for the
// demo's 32 base channels at 32x32, 1024 for the paper's model), and the genre the
// classifier predicts from the same pass. Batches as eval's accuracies use them: batch
// statistics, real covers in a fixed shuffled order so no batch holds one genre only.
#pragma once
#include <memory>
#include <vector>

#include "data/dataset.h"
#include "gan/discriminator.h"

namespace cg::gan {

struct Features {
  int d = 0;                     // features per image
  std::vector<double> x;         // (N,d) row-major
  std::vector<int32_t> predicted;  // (N) argmax of the genre head
  const double* row(int64_t i) const { return x.data() + i * d; }
};

// images (N,3,S,S) on the classifier's device, in batches of about `batch`; mode batch
// (each batch's own statistics) or eval (the running ones, see with_fixed_statistics).
Features classifier_features(const Discriminator& C, const Tensor& images, int batch, BnMode mode = BnMode::batch);
// The covers idx of a dataset, in a fixed shuffled order; rows follow idx.
Features classifier_features(Discriminator& C, const data::Dataset& ds, const std::vector<int64_t>& idx,
                             int batch, BnMode mode = BnMode::batch);
// A copy of C whose BatchNorm layers use fixed statistics: the means over the batches of
// covers idx of ds of each batch's statistics ("precise BN"). Features from it, with
// BnMode::eval, are a fixed function of each image, as Inception's are: with batch
// statistics every batch would be normalised to the same per-channel mean and spread,
// hiding exactly the differences between real and generated sets a distance should see.
std::unique_ptr<Discriminator> with_fixed_statistics(Discriminator& C, const data::Dataset& ds,
                                                     const std::vector<int64_t>& idx, int batch);

// Rows `rows` of f (a subset), as a contiguous (rows.size(), d) block.
std::vector<double> gather_rows(const Features& f, const std::vector<int64_t>& rows);

}  // namespace cg::gan
