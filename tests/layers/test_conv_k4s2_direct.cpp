// The implicit-GEMM k4s2p1 convolution (kernels/cpu/conv_k4s2_direct.cpp) against the
// direct-loop reference, called directly so it is tested whatever the build's ISA, on
// shapes that reach every tail: channel counts that are not a multiple of the register
// tile, pixel blocks cut short, vectors from several samples, several panel blocks.
#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu/conv_k4s2_direct.h"
#include "kernels/cpu/reference/conv2d_ref.h"
#include "support/check.h"

using namespace cg;

namespace {

struct Case {
  int64_t N, C, H, W, OC;
  bool bias;
};

void check_case(const Case& k) {
  INFO("x (" << k.N << "," << k.C << "," << k.H << "," << k.W << ") OC " << k.OC << (k.bias ? "" : " no bias"));
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
                                   std::vector<double>(want.begin(), want.end()), 2e-5, 2e-5);
  INFO(cmp.str());
  CHECK(cmp.ok);
  CHECK(cmp.nmse <= 1e-11);
}

}  // namespace

TEST_CASE("the implicit-GEMM k4s2 convolution matches the reference at every tail") {
  const std::vector<Case> cases = {
      {2, 3, 16, 16, 4, true},    // D.conv1-like: K = 48, one panel, 2 channels short of a tile
      {3, 6, 8, 8, 13, true},     // L = 16: each vector is a whole sample; 3 vectors of a 4-wide block
      {1, 20, 8, 8, 7, true},     // K = 320: two panels, the second 64 rows
      {5, 40, 8, 16, 12, false},  // K = 640, non-square image, no bias; 10 vectors (2 blocks + 2)
      {2, 2, 64, 32, 6, true},    // L = 512: many blocks within one sample
      {1, 1, 8, 8, 1, false},     // the smallest tile
  };
  for (const Case& k : cases) check_case(k);
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
