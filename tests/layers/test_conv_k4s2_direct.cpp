// The implicit-GEMM k4s2p1 convolution (kernels/cpu/conv_k4s2_direct.cpp) against the
// direct-loop reference, called directly so it is tested whatever the build's ISA, on
// shapes that reach every tail: channel counts that are not a multiple of the register
// tile, pixel blocks cut short, vectors from several samples, several panel blocks.
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/conv_k4s2_direct.h"
#include "kernels/cpu/threads.h"
#include "kernels/cpu/reference/conv2d_ref.h"
#include "kernels/cpu/reference/conv_transpose2d_ref.h"
#include "support/check.h"

using namespace cg;

namespace {

struct Case {
  int64_t N, C, H, W, OC;
  bool bias;
  double tol = 2e-5;  // elementwise, absolute + relative
};

std::vector<double> wide(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

// Elementwise 2e-5 absolute + relative and NMSE 1e-11: float sums of a few hundred
// products, as the other fast kernels against the reference (test_reference_kernels.cpp).
void check_close(const char* what, const std::vector<float>& got, const std::vector<float>& want,
                 double tol = 2e-5) {
  const auto cmp = cgtest::compare(wide(got), wide(want), tol, tol);
  INFO(what << ": " << cmp.str());
  CHECK(cmp.ok);
  CHECK(cmp.nmse <= 1e-11);
}

// col2im_k4s2_direct as conv2d's input gradient (assigned and accumulated) and as
// conv_transpose2d's forward (with and without bias), against the references.
void check_col2im_case(const Case& k, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1, 1);
  const int64_t OH = k.H / 2, OW = k.W / 2, nx = k.N * k.C * k.H * k.W, ny = k.N * k.OC * OH * OW;
  std::vector<float> w(static_cast<size_t>(k.OC * k.C * 16)), dy(static_cast<size_t>(ny)),
      x0(static_cast<size_t>(nx)), b(static_cast<size_t>(k.C));
  for (auto* v : {&w, &dy, &x0, &b})
    for (float& e : *v) e = u(rng);
  // conv2d dinp (N,C,H,W) from dout (N,OC,OH,OW) and W (OC, C*16)
  std::vector<float> dx(size_t(nx), std::nanf("")), dx_ref(size_t(nx), 0.0f);
  cpu::col2im_k4s2_direct(dx.data(), dy.data(), w.data(), nullptr, k.N, k.OC, OH, OW, k.C, false);
  cpu::ref::conv2d_backward<float>(dx_ref.data(), nullptr, nullptr, dy.data(), x0.data(), w.data(), k.N, k.C, k.H,
                                   k.W, k.OC, 4, 2, 1);
  check_close("conv2d dinp assigned", dx, dx_ref);
  std::vector<float> dxa(x0), dxa_ref(x0);
  cpu::col2im_k4s2_direct(dxa.data(), dy.data(), w.data(), nullptr, k.N, k.OC, OH, OW, k.C, true);
  cpu::ref::conv2d_backward<float>(dxa_ref.data(), nullptr, nullptr, dy.data(), x0.data(), w.data(), k.N, k.C, k.H,
                                   k.W, k.OC, 4, 2, 1);
  check_close("conv2d dinp accumulated", dxa, dxa_ref);
  // conv_transpose2d forward: input dy (N,OC,OH,OW), W (OC, C, 4, 4), output (N,C,H,W)
  for (const float* bias : {static_cast<const float*>(b.data()), static_cast<const float*>(nullptr)}) {
    std::vector<float> y(size_t(nx), std::nanf("")), y_ref(static_cast<size_t>(nx));
    cpu::col2im_k4s2_direct(y.data(), dy.data(), w.data(), bias, k.N, k.OC, OH, OW, k.C, false);
    cpu::ref::conv_transpose2d_forward<float>(y_ref.data(), dy.data(), w.data(), bias, k.N, k.OC, OH, OW, k.C, 4,
                                              2, 1);
    check_close(bias ? "conv_transpose2d forward" : "conv_transpose2d forward, no bias", y, y_ref);
  }
}

// weight_grad_k4s2_direct as conv2d's weight gradient (Y = dout, img = x) and as
// conv_transpose2d's (Y = x of the grid, img = dout), added onto values already there.
void check_weight_grad_case(const Case& k, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1, 1);
  const int64_t OH = k.H / 2, OW = k.W / 2, nx = k.N * k.C * k.H * k.W, ny = k.N * k.OC * OH * OW;
  std::vector<float> x(static_cast<size_t>(nx)), dy(static_cast<size_t>(ny)), w(static_cast<size_t>(k.OC * k.C * 16));
  for (auto* v : {&x, &dy, &w})
    for (float& e : *v) e = u(rng);
  std::vector<float> dw0(w.size());
  for (float& e : dw0) e = u(rng);
  // conv2d: dW (OC, C*16) += dout (N,OC,OH,OW) @ col(x)^T
  std::vector<float> dw(dw0), dw_ref(dw0);
  cpu::weight_grad_k4s2_direct(dw.data(), dy.data(), x.data(), k.N, k.OC, k.C, OH, OW);
  cpu::ref::conv2d_backward<float>(nullptr, dw_ref.data(), nullptr, dy.data(), x.data(), w.data(), k.N, k.C, k.H,
                                   k.W, k.OC, 4, 2, 1);
  check_close("conv2d dweight", dw, dw_ref, k.tol);
  // conv_transpose2d from (N,OC,OH,OW) to (N,C,H,W): dW (OC, C*16) += x @ col(dout)^T
  std::vector<float> tw(dw0), tw_ref(dw0);
  cpu::weight_grad_k4s2_direct(tw.data(), dy.data(), x.data(), k.N, k.OC, k.C, OH, OW);
  cpu::ref::conv_transpose2d_backward<float>(nullptr, tw_ref.data(), nullptr, x.data(), dy.data(), w.data(), k.N,
                                             k.OC, OH, OW, k.C, 4, 2, 1);
  check_close("conv_transpose2d dweight", tw, tw_ref, k.tol);
}

void check_case(const Case& k) {
  INFO("x (" << k.N << "," << k.C << "," << k.H << "," << k.W << ") OC " << k.OC << std::string(k.bias ? "" : " no bias"));
  REQUIRE(cpu::conv_k4s2_direct_applies(k.H, k.W, 4, 2, 1));
  std::mt19937 rng(uint32_t(k.N * 31 + k.C * 7 + k.H + k.OC * 131));
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> x(size_t(k.N * k.C * k.H * k.W)), w(size_t(k.OC * k.C * 16)), b(size_t(k.OC));
  for (auto* v : {&x, &w, &b})
    for (float& e : *v) e = u(rng);
  const size_t ny = size_t(k.N * k.OC * (k.H / 2) * (k.W / 2));
  // NaN-filled: every output element must be written (the first panel does not read it).
  std::vector<float> got(ny, std::nanf("")), want(ny);
  const float* bias = k.bias ? b.data() : nullptr;
  cpu::conv2d_forward_k4s2_direct(got.data(), x.data(), w.data(), bias, k.N, k.C, k.H, k.W, k.OC);
  cpu::ref::conv2d_forward<float>(want.data(), x.data(), w.data(), bias, k.N, k.C, k.H, k.W, k.OC, 4, 2, 1);
  // Float sums of C*16 products (up to 640 here): 2e-5 absolute + relative, NMSE 1e-11,
  // as the other fast kernels against the reference (test_reference_kernels.cpp).
  const auto cmp = cgtest::compare(std::vector<double>(got.begin(), got.end()),
                                   std::vector<double>(want.begin(), want.end()), k.tol, k.tol);
  INFO(cmp.str());
  CHECK(cmp.ok);
  CHECK(cmp.nmse <= 1e-11);
  // accumulate: added onto what out holds (as conv_transpose2d's input gradient uses it)
  std::vector<float> acc(ny), acc_want(ny);
  for (size_t i = 0; i < ny; ++i) acc[i] = u(rng), acc_want[i] = acc[i] + want[i];
  cpu::conv2d_forward_k4s2_direct(acc.data(), x.data(), w.data(), bias, k.N, k.C, k.H, k.W, k.OC, true);
  const auto cmp2 = cgtest::compare(std::vector<double>(acc.begin(), acc.end()),
                                    std::vector<double>(acc_want.begin(), acc_want.end()), k.tol, k.tol);
  INFO("accumulate: " << cmp2.str());
  CHECK(cmp2.ok);
  CHECK(cmp2.nmse <= 1e-11);
}

}  // namespace

TEST_CASE("the implicit-GEMM k4s2 convolution matches the reference at every tail") {
  const std::vector<Case> cases = {
      {2, 3, 16, 16, 4, true},    // D.conv1-like: K = 48, one panel, 2 channels short of a tile
      {3, 6, 8, 8, 13, true},     // L = 16: each vector is a whole sample; 3 vectors of a 4-wide block
      {1, 20, 8, 8, 7, true},     // K = 320: two panels, the second 64 rows
      {5, 40, 8, 16, 12, false},  // K = 640, non-square image, no bias; 10 vectors (2 blocks + 2)
      {2, 2, 64, 32, 6, true},    // L = 512: many blocks within one sample
      // Read in place from bordered planes (output rows of whole vectors, 6 channels or
      // more in and out): D.conv2's shape at base 32; a non-square image whose output rows
      // are 2 vectors, with a last tile of 1 channel. Fewer channels (K = C*16 <= 256):
      // each block's panel copied once from the bordered planes, as also for the L = 512
      // case above and the 128x128 cover below: a 3-channel image with a last tile of 1
      // channel, a 5-channel non-square one. Narrower rows (OW < 16) pack masked panels.
      {2, 32, 32, 32, 64, true}, {3, 7, 32, 64, 13, false},
      {3, 3, 64, 64, 13, false}, {2, 5, 32, 64, 7, true},
      {1, 1, 8, 8, 1, false},     // the smallest tile
      {1, 2, 128, 128, 3, true},  // a 128x128 cover: shifts of OW+1 = 65 past the planes
      // 4.3 MB of weights over 4 blocks (the last 3 vectors): units of several blocks
      // share each weight tile (D.conv4 at the paper's width, batch 16). Sums of 2048
      // float products differ from the reference by up to 1.2e-4 where they cancel.
      {15, 128, 8, 8, 520, true, 2e-4},
  };
  for (const Case& k : cases) check_case(k);
}

TEST_CASE("the implicit-GEMM k4s2 col2im (conv2d input gradient, transposed conv forward) matches the references") {
  // Samples split over the threads; odd batches leave one thread more; CO*16 rows cross
  // the 240-row panel; vectors of several samples (L = 16) and blocks within one (L = 512).
  const std::vector<Case> cases = {
      {2, 3, 16, 16, 4, true}, {3, 6, 8, 8, 13, true}, {1, 20, 8, 8, 7, true},
      {5, 17, 8, 16, 12, true}, {2, 2, 64, 32, 6, true}, {1, 1, 8, 8, 1, true}, {2, 3, 128, 128, 2, true},
      // By phase (6 channels or more, the grid at least as large as A): D.conv2's shape at
      // base 32; 7 and 13 channels (a 1-channel last tile); a 16x32 grid (2 vectors a
      // row). Narrow rows, masked: 4x4 grids 4 samples to a block (8 samples; 5 leave a
      // part block), an 8x8 grid, a 4x8 one (2 samples to a block, 5 samples).
      {2, 32, 32, 32, 64, true}, {3, 7, 32, 32, 5, true}, {2, 13, 32, 64, 9, true},
      {8, 6, 8, 8, 5, true},     {5, 8, 8, 8, 3, true},   {6, 7, 16, 16, 9, true},  {5, 6, 8, 16, 3, true},
      // By phase on the narrow tile (3 channels or fewer, grid rows of 1 or 2 vectors):
      // a 3-channel image from a 32x32 grid (3 samples); {2, 2, 64, 32, 6} above, 2
      // channels from a 32x16 grid.
      {3, 3, 64, 64, 5, true},
  };
  std::mt19937 rng(11);
  for (const Case& k : cases) {
    INFO("image (" << k.N << "," << k.C << "," << k.H << "," << k.W << ") grid channels " << k.OC);
    check_col2im_case(k, rng);
  }
}

// col2im (by phase and by scatter), the forward and the weight gradient, each value summed
// in one fixed order: the same bits on any number of threads (a training run's bits must
// not depend on the machine). The weight gradient's shapes cover its splits: by column
// blocks alone (32 channels, 20 rows of Y), by pixels within one block (3 channels), by
// pixels over every block (9 channels, 8 samples of 64x64), and with Y transposed (16 and
// 32 rows of Y).
TEST_CASE("the implicit-GEMM k4s2 col2im, forward and weight gradient give the same bits on 1 to 4 threads") {
  for (const Case& k : {Case{5, 32, 32, 32, 20, true}, Case{5, 3, 64, 64, 8, true}, Case{3, 6, 8, 8, 13, true},
                        Case{9, 8, 8, 8, 5, true}, Case{7, 12, 16, 16, 20, true}, Case{8, 9, 64, 64, 14, true},
                        Case{4, 5, 64, 32, 32, true}, Case{5, 32, 32, 32, 16, true}}) {
    INFO("image (" << k.N << "," << k.C << "," << k.H << "," << k.W << ") grid channels " << k.OC);
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(-1, 1);
    const int64_t OH = k.H / 2, OW = k.W / 2;
    std::vector<float> w(size_t(k.OC * k.C * 16)), dy(size_t(k.N * k.OC * OH * OW));
    for (auto* v : {&w, &dy})
      for (float& e : *v) e = u(rng);
    std::vector<float> x(size_t(k.N * k.C * k.H * k.W));
    for (float& e : x) e = u(rng);
    std::vector<std::vector<float>> img, y, dw;
    for (int t : {1, 2, 3, 4}) {
      const int prev = cpu::set_compute_threads(t);
      img.emplace_back(x.size(), 0.0f);
      cpu::col2im_k4s2_direct(img.back().data(), dy.data(), w.data(), nullptr, k.N, k.OC, OH, OW, k.C, false);
      y.emplace_back(dy.size(), 0.0f);
      cpu::conv2d_forward_k4s2_direct(y.back().data(), x.data(), w.data(), nullptr, k.N, k.C, k.H, k.W, k.OC);
      dw.emplace_back(w.size(), 0.0f);
      cpu::weight_grad_k4s2_direct(dw.back().data(), dy.data(), x.data(), k.N, k.OC, k.C, OH, OW);
      cpu::set_compute_threads(prev);
      CHECK(std::memcmp(img.back().data(), img[0].data(), img[0].size() * sizeof(float)) == 0);
      CHECK(std::memcmp(y.back().data(), y[0].data(), y[0].size() * sizeof(float)) == 0);
      CHECK(std::memcmp(dw.back().data(), dw[0].data(), dw[0].size() * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("the implicit-GEMM k4s2 convolution applies only to 4x4 stride 2 pad 1 on whole vectors") {
  CHECK(cpu::conv_k4s2_direct_applies(64, 64, 4, 2, 1));
  CHECK(cpu::conv_k4s2_direct_applies(8, 8, 4, 2, 1));      // 4x4 output: 16 pixels
  CHECK_FALSE(cpu::conv_k4s2_direct_applies(4, 4, 4, 2, 1));  // 2x2 output: 4 pixels
  CHECK_FALSE(cpu::conv_k4s2_direct_applies(9, 8, 4, 2, 1));  // odd height
  CHECK_FALSE(cpu::conv_k4s2_direct_applies(8, 8, 3, 2, 1));
  CHECK_FALSE(cpu::conv_k4s2_direct_applies(8, 8, 4, 1, 1));
  CHECK_FALSE(cpu::conv_k4s2_direct_applies(8, 8, 4, 2, 0));
}

TEST_CASE("the implicit-GEMM k4s2 weight gradient (conv2d and transposed conv) matches the references") {
  // 3 channels: fewer column blocks than threads, so the pixels are split into private
  // copies; 6 and 17 channels: a last block of 2 and 1 channels; 20 output rows: a short
  // register tile; more than 256 pixels: several panels. 8192 pixels (32 panels) and a
  // small dW: split by pixels although there are 3 column blocks (the last of 1 channel),
  // each unit running every block on its panels; sums of 8192 products, which differ from
  // the reference by up to 8.6e-5 where they cancel (NMSE 3e-13).
  const std::vector<Case> cases = {
      {2, 3, 16, 16, 4, true}, {3, 6, 8, 8, 13, true}, {5, 17, 8, 16, 20, true},
      {2, 2, 64, 32, 6, true}, {1, 1, 8, 8, 1, true},  {4, 8, 32, 32, 7, true},
      {8, 9, 64, 64, 14, true, 2e-4},
      // With Y transposed (rows of whole vectors, Y's channels in 16s and fewer than the
      // columns, 256-pixel panels):
      // 16 channels of Y (1 vector, 12-row tiles, K = 80: a last tile of 8 rows); 32 as
      // D.conv1's (2 vectors, 12 rows); 48 (3 vectors, 8 rows, 16x16 output); 80 (4
      // vectors and 1, 32x16 output). 8x8 and 4x4 outputs take the column matrix.
      {3, 5, 64, 32, 16, true}, {2, 7, 32, 32, 48, true}, {1, 6, 32, 64, 80, true}, {2, 3, 64, 64, 32, true},
      {4, 6, 16, 16, 32, true}, {16, 5, 8, 8, 16, true},
  };
  std::mt19937 rng(5);
  for (const Case& k : cases) {
    INFO("image (" << k.N << "," << k.C << "," << k.H << "," << k.W << ") grid channels " << k.OC);
    check_weight_grad_case(k, rng);
  }
}

TEST_CASE("the Y-transposed weight gradient sums the bias gradient only where its units hold whole samples") {
  // D.conv1 at 64x64 (4 panels of 256 pixels a sample) with 8 samples: units of 4 panels.
  CHECK(cpu::weight_grad_k4s2_t_sums_bias(8, 16, 3, 32, 32));
  CHECK(cpu::weight_grad_k4s2_t_sums_bias(64, 32, 3, 32, 32));
  CHECK(cpu::weight_grad_k4s2_t_sums_bias(2, 16, 3, 16, 16));  // one panel a sample
  // 3 samples, 12 panels in 8 units: a unit's first panel inside a sample.
  CHECK_FALSE(cpu::weight_grad_k4s2_t_sums_bias(3, 16, 3, 32, 32));
  // Where the path itself does not apply (more rows of Y than columns of the column matrix).
  CHECK_FALSE(cpu::weight_grad_k4s2_t_sums_bias(64, 128, 3, 32, 32));
  // Asked for anyway, the kernel refuses in a sentence.
  std::vector<float> dw(16 * 48), db(16), Y(3 * 16 * 1024), img(3 * 3 * 4096);
  CHECK_THROWS_WITH_AS(cpu::weight_grad_k4s2_t(dw.data(), Y.data(), img.data(), 3, 16, 3, 32, 32, nullptr, 0.0f,
                                                db.data()),
                       doctest::Contains("whole samples"), Error);
}
