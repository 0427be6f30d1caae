// project_resize_conv (train --g-deconv resize): the projected kernels satisfy the
// resize-convolution's constraints, a projection changes nothing in a kernel that already
// does and is orthogonal; a stride-2 transposed convolution with a resize kernel equals
// nearest-neighbour upsampling followed by a 3x3 convolution, borders included, and paints
// no checkerboard on a constant input. f32 and f64; bad shapes get one sentence.
#include <cmath>
#include <random>

#include "kernels/cpu/reference/conv2d_ref.h"
#include "layers/conv_transpose2d.h"
#include "support/check.h"
#include "support/resize_conv.h"

using namespace cg;

namespace {

using cgtest::resize_conv_residual;

// The 4x4 kernels of upsampling then each 3x3 kernel of v: W = A V A^T, where tap k of
// the four takes (v2, v1 + v2, v0 + v1, v0)[k] along each axis.
std::vector<double> resize_kernels(const std::vector<double>& v /*(C,OC,3,3)*/) {
  static constexpr int kA[4][3] = {{0, 0, 1}, {0, 1, 1}, {1, 1, 0}, {1, 0, 0}};
  std::vector<double> w(v.size() / 9 * 16, 0.0);
  for (size_t k = 0; k < v.size() / 9; ++k)
    for (int kh = 0; kh < 4; ++kh)
      for (int kw = 0; kw < 4; ++kw)
        for (int u = 0; u < 3; ++u)
          for (int q = 0; q < 3; ++q) w[k * 16 + kh * 4 + kw] += kA[kh][u] * kA[kw][q] * v[k * 9 + u * 3 + q];
  return w;
}

// out (N,OC,2H,2W) = conv3x3(upsample2x_nearest(x), v), zero padding of 1 on the upsampled
// image: the layer's definition of a resize-convolution, through the reference conv2d.
std::vector<double> resize_conv_reference(const std::vector<double>& x, const std::vector<double>& v, int64_t N,
                                          int64_t C, int64_t H, int64_t W, int64_t OC) {
  const int64_t OH = 2 * H, OW = 2 * W;
  std::vector<double> up(size_t(N * C * OH * OW)), vt(v.size()), out(size_t(N * OC * OH * OW));
  for (int64_t p = 0; p < N * C; ++p)
    for (int64_t y = 0; y < OH; ++y)
      for (int64_t z = 0; z < OW; ++z) up[size_t((p * OH + y) * OW + z)] = x[size_t((p * H + y / 2) * W + z / 2)];
  for (int64_t c = 0; c < C; ++c)  // (C,OC,3,3) as conv2d's (OC,C,3,3)
    for (int64_t o = 0; o < OC; ++o)
      for (int t = 0; t < 9; ++t) vt[size_t((o * C + c) * 9 + t)] = v[size_t((c * OC + o) * 9 + t)];
  cpu::ref::conv2d_forward<double>(out.data(), up.data(), vt.data(), nullptr, N, C, OH, OW, OC, 3, 1, 1);
  return out;
}

std::vector<double> random_values(size_t n, std::mt19937& rng, bool integers) {
  std::uniform_int_distribution<int> small(-3, 3);
  std::normal_distribution<double> g(0.0, 1.0);
  std::vector<double> v(n);
  for (double& e : v) e = integers ? small(rng) : g(rng);
  return v;
}

}  // namespace

TEST_CASE("project_resize_conv leaves kernels that satisfy the resize-convolution's constraints") {
  std::mt19937 rng(3);
  for (DType dt : {DType::f64, DType::f32}) {
    CAPTURE(dtype_name(dt));
    const double tol = dt == DType::f64 ? 1e-14 : 1e-6;
    const std::vector<double> w0 = random_values(5 * 7 * 16, rng, false);
    CHECK(resize_conv_residual(w0) > 0.1);  // random kernels do not
    Tensor w = Tensor::from(w0, Shape{5, 7, 4, 4}, dt);
    project_resize_conv(w);
    const std::vector<double> p = w.to_vector();
    CHECK(resize_conv_residual(p) < tol);
    // A projection: the part taken away is orthogonal to what stays, and a second pass
    // changes nothing.
    double dot = 0, norm = 0;
    for (size_t i = 0; i < p.size(); ++i) dot += (w0[i] - p[i]) * p[i], norm += w0[i] * w0[i];
    CHECK(std::abs(dot) < tol * norm);
    project_resize_conv(w);
    CHECK(cgtest::compare(w.to_vector(), p, 0, 0).max_abs < tol);
  }
}

TEST_CASE("project_resize_conv with strength s removes the share s of what lies outside the resize-convolutions") {
  std::mt19937 rng(6);
  const std::vector<double> w0 = random_values(4 * 3 * 16, rng, false);
  Tensor full = Tensor::from(w0, Shape{4, 3, 4, 4}, DType::f64), part = full.clone();
  project_resize_conv(full);
  project_resize_conv(part, 0.25);
  const std::vector<double> p = full.to_vector(), q = part.to_vector();
  std::vector<double> want(w0.size());
  for (size_t i = 0; i < w0.size(); ++i) want[i] = p[i] + 0.75 * (w0[i] - p[i]);
  CHECK(cgtest::compare(q, want, 0, 0).max_abs < 1e-14);
  CHECK(resize_conv_residual(q) == doctest::Approx(0.75 * resize_conv_residual(w0)).epsilon(1e-9));
  CHECK_THROWS_WITH_AS(project_resize_conv(part, 0.0), doctest::Contains("strength 0 outside (0, 1]"), Error);
  CHECK_THROWS_WITH_AS(project_resize_conv(part, 1.5), doctest::Contains("outside (0, 1]"), Error);
}

TEST_CASE("a resize-convolution's kernels pass through project_resize_conv unchanged, bit for bit") {
  std::mt19937 rng(4);
  // Small integers: every sum in the projection is exact, so the kernel comes back as it was.
  const std::vector<double> v = random_values(3 * 4 * 9, rng, true);
  const std::vector<double> w = resize_kernels(v);
  CHECK(resize_conv_residual(w) == 0.0);
  for (DType dt : {DType::f64, DType::f32}) {
    Tensor t = Tensor::from(w, Shape{3, 4, 4, 4}, dt);
    project_resize_conv(t);
    CHECK(t.to_vector() == w);
  }
}

TEST_CASE("a stride-2 transposed convolution with resize kernels is upsampling then a 3x3 convolution") {
  std::mt19937 rng(5);
  const int64_t N = 2, C = 3, H = 5, W = 6, OC = 4;
  const std::vector<double> v = random_values(size_t(C * OC * 9), rng, false);
  const std::vector<double> x = random_values(size_t(N * C * H * W), rng, false);
  const Tensor w = Tensor::from(resize_kernels(v), Shape{C, OC, 4, 4}, DType::f64);
  const Tensor y = conv_transpose2d(nullptr, Tensor::from(x, Shape{N, C, H, W}, DType::f64), w, Tensor(), 2, 1);
  const std::vector<double> want = resize_conv_reference(x, v, N, C, H, W, OC);
  REQUIRE(size_t(y.numel()) == want.size());
  CHECK(cgtest::compare(y.to_vector(), want, 0, 0).max_abs < 1e-12);
  // A projected random kernel on a constant map: all four output phases equal away from
  // the border (the unprojected kernel paints a checkerboard).
  const std::vector<double> w0 = random_values(size_t(C * OC * 16), rng, false);
  Tensor wp = Tensor::from(w0, Shape{C, OC, 4, 4}, DType::f64);
  project_resize_conv(wp);
  const Tensor ones = Tensor::full(Shape{1, C, 6, 6}, 1.0, DType::f64);
  for (const auto& [kernel, flat] : {std::pair{Tensor::from(w0, Shape{C, OC, 4, 4}, DType::f64), false},
                                     std::pair{wp, true}}) {
    const std::vector<double> o = conv_transpose2d(nullptr, ones, kernel, Tensor(), 2, 1).to_vector();
    double spread = 0;
    for (int64_t c = 0; c < OC; ++c)
      for (int64_t i = 2; i + 3 < 12; ++i)
        for (int64_t j = 2; j + 3 < 12; ++j)
          spread = std::max(spread, std::abs(o[size_t((c * 12 + i) * 12 + j)] - o[size_t((c * 12 + 2) * 12 + 2)]));
    CHECK((flat ? spread < 1e-12 : spread > 0.1));
  }
}

TEST_CASE("project_resize_conv refuses what is not a 4x4 transposed-convolution weight") {
  Tensor w3 = Tensor::zeros(Shape{2, 2, 3, 3});
  CHECK_THROWS_WITH_AS(project_resize_conv(w3), doctest::Contains("is not (C,OC,4,4)"), Error);
  Tensor flat = Tensor::zeros(Shape{64});
  CHECK_THROWS_WITH_AS(project_resize_conv(flat), doctest::Contains("is not (C,OC,4,4)"), Error);
}
