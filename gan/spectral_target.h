// The spectral term's target (train --g-spectral): per genre, ln of the training covers'
// mean ring power (layers/spectral_loss.h) plus eps, from the covers as the loader
// normalises them (x / 127.5 - 1). A flip leaves ring powers unchanged, so --hflip needs none.
#pragma once
#include <cstdint>
#include <vector>

#include "data/dataset.h"
#include "engine/tensor.h"

namespace cg::gan {

// The floor under every ring's power (pixels on [-1, 1]): well below the real covers' finest
// rings (~4e-4 in the demo's corners), so a ring near it stays compared on a log scale.
inline constexpr double kSpectralEps = 1e-4;

// (K,R) on device in dtype; indices: the covers to average (all of the set when empty).
Tensor spectral_target(const data::Dataset& ds, const std::vector<int64_t>& indices, double eps, DType dtype,
                       Device device);
// The same from a batch of images (N,3,S,S) and labels (N) in [0, K), on their device: what
// --profile and --dump-tape, which run on random images, compare against.
Tensor spectral_target_of(const Tensor& images, const Tensor& labels, int K, double eps);

}  // namespace cg::gan
