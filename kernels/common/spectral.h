// The radially averaged power spectrum's rings, shared by the spectral loss's kernels
// (CPU and CUDA) and eval's spectrum: frequency (ky, kx) of an S x S DFT lies in ring
// round(sqrt(fy^2 + fx^2)) of its signed indices, rings 0 .. round(S / sqrt 2).
#pragma once
#include <cmath>

#include "kernels/common/hd.h"

namespace cg::common {

CG_HD int spectral_rings(int S) { return int(lround(double(S) / sqrt(2.0))) + 1; }

// The signed frequency index of DFT bin k in [0, S): k up to S/2, k - S past it.
CG_HD int signed_frequency(int k, int S) { return k <= S / 2 ? k : k - S; }

CG_HD int spectral_ring(int ky, int kx, int S) {
  const int fy = signed_frequency(ky, S), fx = signed_frequency(kx, S);
  return int(lround(sqrt(double(fy * fy + fx * fx))));
}

}  // namespace cg::common
