// The spectral loss: ring powers against eval's independent DFT (and closed forms for a
// checkerboard and a constant), the loss 0 at its own target, its gradient against finite
// differences, genres apart, float against double, and bad input refused in one sentence.
#include <cmath>
#include <random>

#include "eval/spectrum.h"
#include "kernels/common/spectral.h"
#include "layers/shape_ops.h"
#include "layers/spectral_loss.h"
#include "support/check.h"

using namespace cg;

namespace {
// ln(power + eps) per genre of images (N,3,S,S), as the trainer's target would hold it.
Tensor own_target(const Tensor& images, const std::vector<int32_t>& labels, int K, double eps) {
  const int S = int(images.dim(2)), R = common::spectral_rings(S);
  const std::vector<double> ring = spectral_ring_power(images).to_vector();
  std::vector<double> sum(size_t(K) * R, 0.0), t(sum.size());
  std::vector<int> n(size_t(K), 0);
  for (size_t i = 0; i < labels.size(); ++i) {
    ++n[size_t(labels[i])];
    for (int r = 0; r < R; ++r) sum[size_t(labels[i]) * R + r] += ring[i * R + r];
  }
  for (int g = 0; g < K; ++g)
    for (int r = 0; r < R; ++r) t[size_t(g) * R + r] = std::log((n[size_t(g)] ? sum[size_t(g) * R + r] / n[size_t(g)] : 0) + eps);
  return Tensor::from(t, Shape{K, R}, images.dtype());
}
}  // namespace

TEST_CASE("spectral_ring_power matches eval's DFT ring by ring, and closed forms") {
  std::mt19937 rng(3);
  for (int S : {8, 15, 32}) {
    INFO("S " << S);
    Tensor x = cgtest::random_tensor(Shape{2, 3, S, S}, rng);
    const std::vector<double> ring = spectral_ring_power(x).to_vector();
    const int R = common::spectral_rings(S);
    REQUIRE(R == gan::spectrum_rings(S));
    const std::vector<double> xv = x.to_vector();
    for (int n = 0; n < 2; ++n) {
      std::vector<float> img(xv.begin() + n * 3 * S * S, xv.begin() + (n + 1) * 3 * S * S);
      const gan::Spectrum sp = gan::power_spectrum(img.data(), S);
      for (int r = 1; r < R; ++r)  // eval removes each channel's mean: ring 0 differs
        CHECK(ring[size_t(n * R + r)] == doctest::Approx(sp.ring[size_t(r)]).epsilon(1e-6));
    }
  }
  // A one-pixel checkerboard of amplitude 1 in every channel: |X|^2 = S^4 in the bin (S/2, S/2),
  // the corner ring's only bin at even S, so S^2 there; a constant c: c^2 S^2 in ring 0 alone.
  const int S = 8, R = common::spectral_rings(S);
  std::vector<double> cb(3 * S * S), cst(3 * S * S, 0.5);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x) cb[size_t((c * S + y) * S + x)] = (x + y) % 2 ? -1 : 1;
  const std::vector<double> rc = spectral_ring_power(Tensor::from(cb, Shape{1, 3, S, S}, DType::f64)).to_vector();
  const std::vector<double> rk = spectral_ring_power(Tensor::from(cst, Shape{1, 3, S, S}, DType::f64)).to_vector();
  for (int r = 0; r < R; ++r) {
    CHECK(rc[size_t(r)] == doctest::Approx(r == R - 1 ? S * S : 0.0).epsilon(1e-12));
    CHECK(rk[size_t(r)] == doctest::Approx(r == 0 ? 0.25 * S * S : 0.0).epsilon(1e-12));
  }
}

TEST_CASE("spectral_loss is 0 at its own target and grows with a checkerboard added") {
  std::mt19937 rng(5);
  const int S = 16;
  Tensor x = cgtest::random_tensor(Shape{4, 3, S, S}, rng);
  const std::vector<int32_t> labels{0, 1, 1, 0};
  const Tensor target = own_target(x, labels, 3, 1e-4);  // genre 2 absent: not counted
  CHECK(spectral_loss(nullptr, x, Tensor::from_labels(labels), target, 0, 1e-4).item() ==
        doctest::Approx(0.0).epsilon(1e-24));
  std::vector<double> v = x.to_vector();
  for (size_t i = 0; i < v.size(); ++i) v[i] += ((i % S) + (i / S) % S) % 2 ? -0.5 : 0.5;
  const Tensor y = Tensor::from(v, x.shape(), DType::f64);
  const double all = spectral_loss(nullptr, y, Tensor::from_labels(labels), target, 0, 1e-4).item();
  const double upper = spectral_loss(nullptr, y, Tensor::from_labels(labels), target, 8, 1e-4).item();
  CHECK(all > 0.01);
  CHECK(upper > all);  // the checkerboard lies in the upper rings: averaging over fewer, larger terms
}

TEST_CASE("spectral_loss gradients match finite differences") {
  std::mt19937 rng(7);
  for (int S : {6, 8, 9}) {
    for (int first : {0, 2}) {
      INFO("S " << S << " first ring " << first);
      Tensor x = cgtest::random_tensor(Shape{3, 3, S, S}, rng);
      const std::vector<int32_t> labels{1, 0, 1};
      Tensor other = cgtest::random_tensor(Shape{3, 3, S, S}, rng);
      const Tensor target = own_target(other, labels, 2, 1e-3);
      x.set_requires_grad(true);
      auto f = [&](Tape* tape) { return spectral_loss(tape, x, Tensor::from_labels(labels), target, first, 1e-3); };
      CHECK_GRADCHECK(f, (std::vector<Tensor>{x}), 1e-6);
    }
  }
}

TEST_CASE("spectral_loss: float agrees with double, and backward accumulates") {
  std::mt19937 rng(9);
  const int S = 32;
  Tensor x = cgtest::random_tensor(Shape{4, 3, S, S}, rng);
  const std::vector<int32_t> labels{2, 0, 1, 2};
  const Tensor target = own_target(cgtest::random_tensor(Shape{4, 3, S, S}, rng), labels, 3, 1e-4);
  std::vector<double> loss, grad[2];
  int k = 0;
  for (DType dt : {DType::f64, DType::f32}) {
    Tensor xd = dt == DType::f64 ? x.clone() : x.to(dt);
    xd.set_requires_grad(true);
    Tape tape;
    Tensor l = spectral_loss(&tape, xd, Tensor::from_labels(labels), target.to(dt), 4, 1e-4);
    loss.push_back(l.item());
    tape.backward(l);
    grad[k++] = xd.grad().to_vector();
  }
  CHECK(loss[1] == doctest::Approx(loss[0]).epsilon(1e-5));
  CHECK(cgtest::compare(grad[1], grad[0], 0, 0).nmse < 1e-9);
  // Twice the loss in one sum: twice the gradient (the second backward adds to the first).
  Tensor xd = x.clone();
  xd.set_requires_grad(true);
  Tape tape;
  const Tensor lab = Tensor::from_labels(labels), t = target.to(DType::f64);
  Tensor a = spectral_loss(&tape, xd, lab, t, 4, 1e-4), b = spectral_loss(&tape, xd, lab, t, 4, 1e-4);
  tape.backward(weighted_sum(&tape, {a, b}, {1.0, 1.0}));
  const std::vector<double> g2 = xd.grad().to_vector();
  for (size_t i = 0; i < g2.size(); i += 97) CHECK(g2[i] == doctest::Approx(2 * grad[0][i]).epsilon(1e-12));
}

TEST_CASE("spectral_loss refuses bad input in one sentence") {
  const Tensor x = Tensor::zeros(Shape{2, 3, 8, 8}, DType::f64);
  const Tensor t = Tensor::zeros(Shape{2, common::spectral_rings(8)}, DType::f64);
  const Tensor lab = Tensor::from_labels({0, 1});
  CHECK_THROWS_WITH_AS(spectral_loss(nullptr, Tensor::zeros(Shape{2, 3, 8, 4}, DType::f64), lab, t, 0, 1e-4),
                       doctest::Contains("(N,C,S,S)"), std::exception);
  CHECK_THROWS_WITH_AS(spectral_loss(nullptr, x, Tensor::from_labels({0, 2}), t, 0, 1e-4),
                       doctest::Contains("label 2 outside [0, 2)"), std::exception);
  CHECK_THROWS_WITH_AS(spectral_loss(nullptr, x, lab, Tensor::zeros(Shape{2, 5}, DType::f64), 0, 1e-4),
                       doctest::Contains("target must be (K,7)"), std::exception);
  CHECK_THROWS_WITH_AS(spectral_loss(nullptr, x, lab, t, 7, 1e-4), doctest::Contains("first_ring 7 outside"),
                       std::exception);
  CHECK_THROWS_WITH_AS(spectral_loss(nullptr, x, lab, t, 0, 0.0), doctest::Contains("eps must be > 0"),
                       std::exception);
  CHECK_THROWS_WITH_AS(spectral_loss(nullptr, x, Tensor::from_labels({0}), t, 0, 1e-4), doctest::Contains("labels"),
                       std::exception);
}
