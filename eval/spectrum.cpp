// High-frequency energy of images (see spectrum.h). The 2-D DFT is separable (rows, then
// columns) with a cosine/sine table: O(S^3) per channel, fine at 32 to 128 pixels.
#include "eval/spectrum.h"

#include <cmath>

#include "base/check.h"
#include "kernels/common/spectral.h"

namespace cg::gan {

double mean_squared_laplacian(const float* img, int S) {
  CG_CHECK(S >= 3, "mean_squared_laplacian: ", S, "x", S);
  double sum = 0;
  for (int c = 0; c < 3; ++c) {
    const float* p = img + size_t(c) * size_t(S) * size_t(S);
    for (int y = 1; y + 1 < S; ++y)
      for (int x = 1; x + 1 < S; ++x) {
        const double l = double(p[(y - 1) * S + x]) + p[(y + 1) * S + x] + p[y * S + x - 1] + p[y * S + x + 1] -
                         4.0 * p[y * S + x];
        sum += l * l;
      }
  }
  return sum / (3.0 * double(S - 2) * double(S - 2));
}

int spectrum_rings(int S) { return common::spectral_rings(S); }  // train --g-spectral compares the same rings

Spectrum power_spectrum(const float* img, int S) {
  std::vector<double> cs(size_t(S) * size_t(S)), sn(cs.size());
  for (int k = 0; k < S; ++k)
    for (int x = 0; x < S; ++x) {
      const double a = 2.0 * M_PI * double((int64_t(k) * x) % S) / double(S);
      cs[size_t(k * S + x)] = std::cos(a), sn[size_t(k * S + x)] = -std::sin(a);
    }
  const size_t rings = size_t(spectrum_rings(S));
  std::vector<double> ring_sum(rings, 0.0), power(size_t(S) * size_t(S), 0.0);
  std::vector<int> ring_n(rings, 0);
  std::vector<double> re(power.size()), im(power.size()), plane(power.size());
  for (int c = 0; c < 3; ++c) {
    const float* p = img + size_t(c) * size_t(S) * size_t(S);
    double mean = 0;
    for (size_t i = 0; i < plane.size(); ++i) mean += p[i];
    mean /= double(plane.size());
    for (size_t i = 0; i < plane.size(); ++i) plane[i] = p[i] - mean;
    // Rows: (y, kx) = sum_x plane(y, x) e^{-2 pi i kx x / S}.
    std::vector<double> rr(power.size()), ri(power.size());
    for (int y = 0; y < S; ++y)
      for (int k = 0; k < S; ++k) {
        double a = 0, b = 0;
        for (int x = 0; x < S; ++x) {
          const double v = plane[size_t(y * S + x)];
          a += v * cs[size_t(k * S + x)], b += v * sn[size_t(k * S + x)];
        }
        rr[size_t(y * S + k)] = a, ri[size_t(y * S + k)] = b;
      }
    // Columns: (ky, kx) = sum_y row(y, kx) e^{-2 pi i ky y / S}.
    for (int ky = 0; ky < S; ++ky)
      for (int kx = 0; kx < S; ++kx) {
        double a = 0, b = 0;
        for (int y = 0; y < S; ++y) {
          const double u = rr[size_t(y * S + kx)], v = ri[size_t(y * S + kx)];
          const double cr = cs[size_t(ky * S + y)], ci = sn[size_t(ky * S + y)];
          a += u * cr - v * ci, b += u * ci + v * cr;
        }
        power[size_t(ky * S + kx)] += (a * a + b * b) / double(S * S) / 3.0;
      }
  }
  Spectrum out;
  double total = 0, high = 0, corner = 0;
  int corner_n = 0;
  for (int ky = 0; ky < S; ++ky)
    for (int kx = 0; kx < S; ++kx) {
      const int fy = common::signed_frequency(ky, S), fx = common::signed_frequency(kx, S);
      const double rad = std::sqrt(double(fy * fy + fx * fx));
      const double pw = power[size_t(ky * S + kx)];
      if (fy != 0 || fx != 0) {
        total += pw;
        if (rad > S / 4.0) high += pw;
      }
      if (rad > S / 2.0) corner += pw, ++corner_n;
      const size_t r = size_t(common::spectral_ring(ky, kx, S));  // < rings: rad <= S/sqrt(2)
      ring_sum[r] += pw, ++ring_n[r];
    }
  out.ring.resize(rings);
  for (size_t r = 0; r < rings; ++r) out.ring[r] = ring_n[r] ? ring_sum[r] / ring_n[r] : 0.0;
  out.high_share = total > 0 ? high / total : 0.0;
  out.corner_power = corner_n ? corner / corner_n : 0.0;
  return out;
}

SetSpectrum set_spectrum(const float* images, int64_t n, int S) {
  SetSpectrum s;
  s.n = n;
  s.ring.assign(size_t(spectrum_rings(S)), 0.0);
  if (n == 0) return s;
  const size_t per = 3 * size_t(S) * size_t(S);
  std::vector<Spectrum> sp(static_cast<size_t>(n));
  std::vector<double> lap(static_cast<size_t>(n));
#pragma omp parallel for schedule(dynamic, 8)
  for (int64_t i = 0; i < n; ++i) {
    sp[size_t(i)] = power_spectrum(images + size_t(i) * per, S);
    lap[size_t(i)] = mean_squared_laplacian(images + size_t(i) * per, S);
  }
  for (int64_t i = 0; i < n; ++i) {
    s.laplacian += lap[size_t(i)] / double(n);
    s.high_share += sp[size_t(i)].high_share / double(n);
    s.corner_power += sp[size_t(i)].corner_power / double(n);
    for (size_t r = 0; r < s.ring.size(); ++r) s.ring[r] += sp[size_t(i)].ring[r] / double(n);
  }
  return s;
}

}  // namespace cg::gan
