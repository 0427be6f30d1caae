// Test helper for train --g-deconv resize (kernels/common/resize_conv.h): how far 4x4
// transposed-convolution kernels are from the resize-convolutions.
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

namespace cgtest {

// Largest |k n| over rows and |n^T k| over columns of the 4x4 kernels of w, n = (1, -1,
// 1, -1) / 2: exactly 0 for a resize-convolution (nearest-neighbour upsampling, then 3x3).
inline double resize_conv_residual(const std::vector<double>& w) {
  static constexpr double kN[4] = {0.5, -0.5, 0.5, -0.5};
  double worst = 0;
  for (size_t k = 0; k < w.size() / 16; ++k)
    for (int i = 0; i < 4; ++i) {
      double r = 0, c = 0;
      for (int j = 0; j < 4; ++j) r += kN[j] * w[k * 16 + i * 4 + j], c += kN[j] * w[k * 16 + j * 4 + i];
      worst = std::max({worst, std::abs(r), std::abs(c)});
    }
  return worst;
}

}  // namespace cgtest
