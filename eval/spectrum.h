// What the eye sees as speckle, measured: high-frequency energy of covers. Per image
// (RGB on [0,255]): the mean squared Laplacian (4-neighbour, interior pixels, every
// channel), the radially averaged power spectrum (each channel minus its mean, |DFT|^2
// over the pixels, averaged over the channels and over each ring of integer radius
// r = round(|k|), k the frequency index), the share of the power (DC excluded) at radii
// above S/4, the upper half of the band up to Nyquist, and the mean power per frequency
// in the corners (radii past S/2).
// The rings run to the corner, r = 0 .. round(S/sqrt(2)): past r = S/2 lie the diagonal
// frequencies beyond the axes' Nyquist, (S/2, S/2) the checkerboard a stride-2 transposed
// convolution paints. Rings that stop at S/2 (as eval's did until 2026-12-05) never show
// them: on the demo covers that is where generated covers differ most from real ones.
#pragma once
#include <cstdint>
#include <vector>

namespace cg::gan {

double mean_squared_laplacian(const float* img, int S);  // img (3,S,S)

int spectrum_rings(int S);  // round(S/sqrt(2)) + 1: rings 0 .. the corner's

struct Spectrum {
  std::vector<double> ring;   // (spectrum_rings(S)) mean power per ring
  double high_share = 0;      // power at r > S/4 over all power but DC
  double corner_power = 0;    // mean power per frequency at radius > S/2
};
Spectrum power_spectrum(const float* img, int S);

// A set of n images (n,3,S,S): the means of the above over its images.
struct SetSpectrum {
  double laplacian = 0, high_share = 0, corner_power = 0;
  std::vector<double> ring;
  int64_t n = 0;
};
SetSpectrum set_spectrum(const float* images, int64_t n, int S);

}  // namespace cg::gan
