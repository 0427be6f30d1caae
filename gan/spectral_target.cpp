// The spectral term's target (see spectral_target.h): the covers in chunks through the
// ring-power kernel on the host in double, summed per genre in index order.
#include "gan/spectral_target.h"

#include <cmath>

#include "base/check.h"
#include "kernels/common/spectral.h"
#include "layers/spectral_loss.h"

namespace cg::gan {

Tensor spectral_target(const data::Dataset& ds, const std::vector<int64_t>& indices, double eps, DType dtype,
                       Device device) {
  const auto& info = ds.info();
  CG_CHECK(info.labeled() && info.channels == 3, "spectral_target: needs a labeled RGB set");
  std::vector<int64_t> all = indices;
  if (all.empty())
    for (int64_t i = 0; i < info.count; ++i) all.push_back(i);
  const int S = info.size, K = int(info.genres.size()), R = common::spectral_rings(S);
  const int64_t P = int64_t(S) * S, chunk = 256;
  std::vector<double> sum(size_t(K) * R, 0.0);
  std::vector<int64_t> count(size_t(K), 0);
  for (size_t lo = 0; lo < all.size(); lo += chunk) {
    const int64_t n = int64_t(std::min(all.size() - lo, size_t(chunk)));
    Tensor x = Tensor::empty(Shape{n, 3, S, S}, DType::f64, Device::cpu);
    double* px = x.data<double>();
    for (int64_t j = 0; j < n; ++j) {
      const uint8_t* src = ds.pixels(all[lo + size_t(j)]);  // (H,W,C)
      for (int c = 0; c < 3; ++c)
        for (int64_t i = 0; i < P; ++i) px[(j * 3 + c) * P + i] = double(src[i * 3 + c]) / 127.5 - 1.0;
    }
    const std::vector<double> ring = spectral_ring_power(x).to_vector();
    for (int64_t j = 0; j < n; ++j) {
      const int g = ds.label(all[lo + size_t(j)]);
      ++count[size_t(g)];
      for (int r = 0; r < R; ++r) sum[size_t(g) * R + r] += ring[size_t(j) * R + r];
    }
  }
  std::vector<double> target(sum.size());
  for (int g = 0; g < K; ++g)
    for (int r = 0; r < R; ++r)
      target[size_t(g) * R + r] = std::log((count[size_t(g)] ? sum[size_t(g) * R + r] / count[size_t(g)] : 0.0) + eps);
  return Tensor::from(target, Shape{K, R}, dtype, device);
}

Tensor spectral_target_of(const Tensor& images, const Tensor& labels, int K, double eps) {
  const int R = common::spectral_rings(int(images.dim(2)));
  const std::vector<double> ring = spectral_ring_power(images.to(Device::cpu)).to_vector();
  const std::vector<double> lab = labels.to(Device::cpu).to_vector();
  std::vector<double> sum(size_t(K) * R, 0.0), target(sum.size());
  std::vector<int64_t> count(size_t(K), 0);
  for (size_t n = 0; n < lab.size(); ++n) {
    const int g = int(lab[n]);
    CG_CHECK(g >= 0 && g < K, "spectral_target_of: label ", g, " outside [0, ", K, ")");
    ++count[size_t(g)];
    for (int r = 0; r < R; ++r) sum[size_t(g) * R + r] += ring[n * R + r];
  }
  for (int g = 0; g < K; ++g)
    for (int r = 0; r < R; ++r)
      target[size_t(g) * R + r] = std::log((count[size_t(g)] ? sum[size_t(g) * R + r] / count[size_t(g)] : 0.0) + eps);
  return Tensor::from(target, Shape{K, R}, images.dtype(), images.device());
}

}  // namespace cg::gan
