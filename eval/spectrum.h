// What the eye sees as speckle, measured: high-frequency energy of covers. Per image
// (RGB on [0,255]): the mean squared Laplacian (4-neighbour, interior pixels, every
// channel), the radially averaged power spectrum (each channel minus its mean, |DFT|^2
// over the pixels, averaged over the channels and over each ring of integer radius
// r = round(|k|), r = 0..S/2, k the frequency index), and the share of the power (DC
// excluded) at radii above S/4, the upper half of the band up to Nyquist.
#pragma once
#include <cstdint>
#include <vector>

namespace cg::gan {

double mean_squared_laplacian(const float* img, int S);  // img (3,S,S)

struct Spectrum {
  std::vector<double> ring;  // (S/2+1) mean power per ring
  double high_share = 0;     // power at r > S/4 over all power but DC
};
Spectrum power_spectrum(const float* img, int S);

// A set of n images (n,3,S,S): the means of the above over its images.
struct SetSpectrum {
  double laplacian = 0, high_share = 0;
  std::vector<double> ring;
  int64_t n = 0;
};
SetSpectrum set_spectrum(const float* images, int64_t n, int S);

}  // namespace cg::gan
