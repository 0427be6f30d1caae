// The spectral term's target (see spectral_target.h): the covers in chunks through the
// ring-power kernel on the host in double, summed per genre in index order.
#include "gan/spectral_target.h"

#include <cmath>

#include "base/check.h"
#include "kernels/common/spectral.h"
#include "kernels/cpu/normalize.h"
#include "layers/spectral_loss.h"

namespace cg::gan {
namespace {

// Ring powers summed per genre, then ln(mean + eps) as a (K,R) target.
struct GenreRings {
  int K, R;
  std::vector<double> sum;
  std::vector<int64_t> count;
  GenreRings(int K_, int R_) : K(K_), R(R_), sum(size_t(K_) * R_, 0.0), count(size_t(K_), 0) {}
  void add(int g, const double* ring) {
    CG_CHECK(g >= 0 && g < K, "spectral_target: label ", g, " outside [0, ", K, ")");
    ++count[size_t(g)];
    for (int r = 0; r < R; ++r) sum[size_t(g) * R + r] += ring[r];
  }
  Tensor ln_mean(double eps, DType dtype, Device device) const {
    std::vector<double> t(sum.size());
    for (int g = 0; g < K; ++g)
      for (int r = 0; r < R; ++r)
        t[size_t(g) * R + r] = std::log((count[size_t(g)] ? sum[size_t(g) * R + r] / count[size_t(g)] : 0.0) + eps);
    return Tensor::from(t, Shape{K, R}, dtype, device);
  }
};

}  // namespace

Tensor spectral_target(const data::Dataset& ds, const std::vector<int64_t>& indices, double eps, DType dtype,
                       Device device) {
  const auto& info = ds.info();
  CG_CHECK(info.labeled() && info.channels == 3, "spectral_target: needs a labeled RGB set");
  std::vector<int64_t> all = indices;
  if (all.empty())
    for (int64_t i = 0; i < info.count; ++i) all.push_back(i);
  const int S = info.size;
  const int64_t P = int64_t(S) * S, chunk = 256;
  GenreRings acc(int(info.genres.size()), common::spectral_rings(S));
  for (size_t lo = 0; lo < all.size(); lo += chunk) {
    const int64_t n = int64_t(std::min(all.size() - lo, size_t(chunk)));
    Tensor x = Tensor::empty(Shape{n, 3, S, S}, DType::f64, Device::cpu);
    for (int64_t j = 0; j < n; ++j)  // as the loader normalises them, one cover at a time
      cpu::images_u8_to_float(x.data<double>() + j * 3 * P, ds.pixels(all[lo + size_t(j)]), nullptr, 1, S, S, 3);
    const std::vector<double> ring = spectral_ring_power(x).to_vector();
    for (int64_t j = 0; j < n; ++j) acc.add(ds.label(all[lo + size_t(j)]), ring.data() + j * acc.R);
  }
  return acc.ln_mean(eps, dtype, device);
}

Tensor spectral_target_of(const Tensor& images, const Tensor& labels, int K, double eps) {
  GenreRings acc(K, common::spectral_rings(int(images.dim(2))));
  const std::vector<double> ring = spectral_ring_power(images.to(Device::cpu)).to_vector();
  const std::vector<double> lab = labels.to(Device::cpu).to_vector();
  for (size_t n = 0; n < lab.size(); ++n) acc.add(int(lab[n]), ring.data() + n * size_t(acc.R));
  return acc.ln_mean(eps, images.dtype(), images.device());
}

}  // namespace cg::gan
