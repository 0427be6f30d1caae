// MS-SSIM (Wang, Simoncelli & Bovik 2003) exactly as docs/DESIGN.md section 1 fixes it:
// RGB on [0,255], 5 scales by 2x2 average pooling, a Gaussian window of size
// s = min(11,H,W) and sigma 1.5*s/11 applied "valid" per channel, C1=(0.01*255)^2,
// C2=(0.03*255)^2, product of clamped CS_1..4 and SSIM_5 with the standard weights.
// The scalar pieces are CG_HD functions, shared with a future CUDA kernel.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "kernels/common/hd.h"

namespace cg::gan {

inline constexpr int kMsssimScales = 5;
inline constexpr double kMsssimWeights[kMsssimScales] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};
inline constexpr double kSsimC1 = (0.01 * 255) * (0.01 * 255), kSsimC2 = (0.03 * 255) * (0.03 * 255);

// The window at a scale of h x w pixels: size min(11,h,w), sigma 1.5*size/11.
CG_HD int ssim_window_size(int h, int w) { return h < w ? (h < 11 ? h : 11) : (w < 11 ? w : 11); }
CG_HD double ssim_window_sigma(int size) { return 1.5 * size / 11.0; }

// SSIM and CS at one position from the window's weighted moments: means mx, my and
// raw second moments exx = E[x^2], eyy, exy (variances are E[x^2] - mx^2, the
// reference code's biased form).
CG_HD void ssim_cs_at(double mx, double my, double exx, double eyy, double exy, double* ssim, double* cs) {
  const double vx = exx - mx * mx, vy = eyy - my * my, cxy = exy - mx * my;
  const double c = (2.0 * cxy + kSsimC2) / (vx + vy + kSsimC2);
  *cs = c;
  *ssim = (2.0 * mx * my + kSsimC1) / (mx * mx + my * my + kSsimC1) * c;
}

// The combination over scales: prod_{j<4} max(cs_j,0)^w_j * max(ssim_5,0)^w_5.
double msssim_combine(const double* cs, double ssim_last);

// Fewer scales (eval --msssim-scales): the first n of the five weights, renormalised to sum
// to 1 (n = 5 keeps the published weights, which sum to 1.0001); n = 1 is single-scale SSIM.
std::vector<double> msssim_weights(int scales);
// prod_{j<n-1} max(cs_j,0)^w_j * max(ssim_n,0)^w_n with msssim_weights(n).
double msssim_combine(const double* cs, double ssim_last, int scales);
// "auto": as many scales (at most 5) as keep the coarsest at least 8 pixels on a side:
// 16 -> 2, 32 -> 3, 64 -> 4, 128 -> 5.
int msssim_auto_scales(int size);

// One normalised 1-D Gaussian window of `size` taps centred at (size-1)/2.
std::vector<double> gaussian_window(int size, double sigma);

// SSIM and CS of one scale: means over all valid window positions and channels.
// a, b: (C,H,W) planes on [0,255]; window w of size s (separable, applied on both axes).
// scratch is resized as needed (5 x H x (W-s+1) doubles), so a thread reuses it.
void ssim_scale(const float* a, const float* b, int C, int H, int W, const std::vector<double>& w, double* ssim,
                double* cs, std::vector<double>& scratch);

// MS-SSIM of two (C,H,W) images on [0,255]. Also returns, when given, the five
// per-scale SSIM and CS values (diagnostics, tests).
double msssim(const float* a, const float* b, int C, int H, int W, double* ssim_per_scale = nullptr,
              double* cs_per_scale = nullptr, int scales = kMsssimScales);
// Single-scale SSIM (the window of scale 1), for the comparison with scikit-image.
double ssim(const float* a, const float* b, int C, int H, int W);

// MS-SSIM of many pairs: pairs[i] = (index into set_a, index into set_b); the sets are
// (N,C,H,W) f32 on [0,255]. OpenMP over the pairs; progress every ~10% when a label is given.
std::vector<double> msssim_pairs(const float* set_a, const float* set_b, int C, int H, int W,
                                 const std::vector<std::pair<int64_t, int64_t>>& pairs, const char* label = nullptr,
                                 int scales = kMsssimScales);

}  // namespace cg::gan
