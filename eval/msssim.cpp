// MS-SSIM on the CPU (see msssim.h): a separable "valid" Gaussian filter of the five
// moment planes per channel, the per-position formula from msssim.h, means, then
// 2x2 average pooling to the next scale; many pairs in parallel with OpenMP.
#include "eval/msssim.h"

#include <atomic>
#include <cmath>
#include <cstdio>

#include "base/check.h"

namespace cg::gan {

double msssim_combine(const double* cs, double ssim_last) {
  double r = 1.0;
  for (int j = 0; j < kMsssimScales - 1; ++j) r *= std::pow(std::fmax(cs[j], 0.0), kMsssimWeights[j]);
  return r * std::pow(std::fmax(ssim_last, 0.0), kMsssimWeights[kMsssimScales - 1]);
}

std::vector<double> msssim_weights(int scales) {
  CG_CHECK(scales >= 1 && scales <= kMsssimScales, "msssim_weights: ", scales, " scales");
  std::vector<double> w(kMsssimWeights, kMsssimWeights + scales);
  if (scales == kMsssimScales) return w;  // the paper's numbers as published
  double sum = 0;
  for (double v : w) sum += v;
  for (double& v : w) v /= sum;
  return w;
}

double msssim_combine(const double* cs, double ssim_last, int scales) {
  if (scales == kMsssimScales) return msssim_combine(cs, ssim_last);
  const std::vector<double> w = msssim_weights(scales);
  double r = 1.0;
  for (int j = 0; j + 1 < scales; ++j) r *= std::pow(std::fmax(cs[j], 0.0), w[size_t(j)]);
  return r * std::pow(std::fmax(ssim_last, 0.0), w[size_t(scales - 1)]);
}

int msssim_auto_scales(int size) {
  int n = 1;
  while (n < kMsssimScales && (size >> n) >= 8) ++n;
  return n;
}

std::vector<double> gaussian_window(int size, double sigma) {
  std::vector<double> w(static_cast<size_t>(size));
  const double c = (size - 1) / 2.0;
  double sum = 0;
  for (int i = 0; i < size; ++i) sum += w[size_t(i)] = std::exp(-(i - c) * (i - c) / (2 * sigma * sigma));
  for (double& v : w) v /= sum;
  return w;
}

void ssim_scale(const float* a, const float* b, int C, int H, int W, const std::vector<double>& w, double* ssim_out,
                double* cs_out, std::vector<double>& scratch) {
  const int s = int(w.size()), OH = H - s + 1, OW = W - s + 1;
  CG_CHECK(s >= 1 && OH >= 1 && OW >= 1, "ssim_scale: window ", s, " on ", H, "x", W);
  scratch.resize(size_t(5) * size_t(H) * size_t(OW));
  double ssim_sum = 0, cs_sum = 0;
  for (int c = 0; c < C; ++c) {
    const float* pa = a + size_t(c) * size_t(H) * size_t(W);
    const float* pb = b + size_t(c) * size_t(H) * size_t(W);
    // Horizontal pass: the five moments x, y, x^2, y^2, xy filtered along each row. (5,H,OW)
    double* hx = scratch.data();
    const size_t plane = size_t(H) * size_t(OW);
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < OW; ++x) {
        double m[5] = {0, 0, 0, 0, 0};
        for (int k = 0; k < s; ++k) {
          const double u = pa[y * W + x + k], v = pb[y * W + x + k], wk = w[size_t(k)];
          m[0] += wk * u, m[1] += wk * v, m[2] += wk * u * u, m[3] += wk * v * v, m[4] += wk * u * v;
        }
        for (int q = 0; q < 5; ++q) hx[q * plane + size_t(y) * size_t(OW) + size_t(x)] = m[q];
      }
    // Vertical pass and the per-position formula.
    for (int y = 0; y < OH; ++y)
      for (int x = 0; x < OW; ++x) {
        double m[5] = {0, 0, 0, 0, 0};
        for (int k = 0; k < s; ++k)
          for (int q = 0; q < 5; ++q) m[q] += w[size_t(k)] * hx[q * plane + size_t(y + k) * size_t(OW) + size_t(x)];
        double sv, cv;
        ssim_cs_at(m[0], m[1], m[2], m[3], m[4], &sv, &cv);
        ssim_sum += sv, cs_sum += cv;
      }
  }
  const double n = double(C) * OH * OW;
  *ssim_out = ssim_sum / n;
  *cs_out = cs_sum / n;
}

namespace {
// (C,H,W) -> (C,H/2,W/2): the mean of each 2x2 block (an odd last row/column is dropped).
void avg_pool2(float* out, const float* in, int C, int H, int W) {
  const int oh = H / 2, ow = W / 2;
  for (int c = 0; c < C; ++c)
    for (int y = 0; y < oh; ++y)
      for (int x = 0; x < ow; ++x) {
        const float* p = in + (size_t(c) * size_t(H) + size_t(2 * y)) * size_t(W) + size_t(2 * x);
        out[(size_t(c) * size_t(oh) + size_t(y)) * size_t(ow) + size_t(x)] = 0.25f * (p[0] + p[1] + p[W] + p[W + 1]);
      }
}
}  // namespace

double msssim(const float* a, const float* b, int C, int H, int W, double* ssim_ps, double* cs_ps, int scales) {
  CG_USER_CHECK(scales >= 1 && scales <= kMsssimScales, "MS-SSIM takes 1 to ", kMsssimScales, " scales, got ",
                scales, ".");
  CG_USER_CHECK((H >> (scales - 1)) >= 1 && (W >> (scales - 1)) >= 1 && (scales < kMsssimScales || (H >= 16 && W >= 16)),
                "MS-SSIM needs images of at least 16x16 (5 scales), got ", H, "x", W, ".");
  std::vector<float> ca(a, a + size_t(C) * H * W), cb(b, b + size_t(C) * H * W), na, nb;
  std::vector<double> scratch;
  double ss[kMsssimScales], cs[kMsssimScales];
  for (int j = 0; j < scales; ++j) {
    const int s = ssim_window_size(H, W);
    ssim_scale(ca.data(), cb.data(), C, H, W, gaussian_window(s, ssim_window_sigma(s)), &ss[j], &cs[j], scratch);
    if (j + 1 == scales) break;
    na.resize(size_t(C) * size_t(H / 2) * size_t(W / 2)), nb.resize(na.size());
    avg_pool2(na.data(), ca.data(), C, H, W);
    avg_pool2(nb.data(), cb.data(), C, H, W);
    ca.swap(na), cb.swap(nb);
    H /= 2, W /= 2;
  }
  for (int j = 0; j < scales; ++j) {
    if (ssim_ps) ssim_ps[j] = ss[j];
    if (cs_ps) cs_ps[j] = cs[j];
  }
  return msssim_combine(cs, ss[scales - 1], scales);
}

double ssim(const float* a, const float* b, int C, int H, int W) {
  const int s = ssim_window_size(H, W);
  std::vector<double> scratch;
  double sv, cv;
  ssim_scale(a, b, C, H, W, gaussian_window(s, ssim_window_sigma(s)), &sv, &cv, scratch);
  return sv;
}

std::vector<double> msssim_pairs(const float* set_a, const float* set_b, int C, int H, int W,
                                 const std::vector<std::pair<int64_t, int64_t>>& pairs, const char* label, int scales) {
  const int64_t n = int64_t(pairs.size()), img = int64_t(C) * H * W;
  std::vector<double> out(static_cast<size_t>(n));
  std::atomic<int64_t> done{0};
  const int64_t every = std::max<int64_t>(1, n / 10);
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t i = 0; i < n; ++i) {
    const auto [ia, ib] = pairs[size_t(i)];
    out[size_t(i)] = msssim(set_a + ia * img, set_b + ib * img, C, H, W, nullptr, nullptr, scales);
    const int64_t d = ++done;
    if (label && (d % every == 0 || d == n)) {
#pragma omp critical
      {
        std::printf("  MS-SSIM %s: %lld/%lld pairs scored\n", label, static_cast<long long>(d), static_cast<long long>(n));
        std::fflush(stdout);
      }
    }
  }
  return out;
}

}  // namespace cg::gan
