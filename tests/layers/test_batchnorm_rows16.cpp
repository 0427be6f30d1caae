// The batch norm's 16-rows-at-once sums on 4x4 planes (kernels/cpu/batchnorm2d_rows16.h)
// against the row loops they stand in for (batchnorm2d_rows.h), bit for bit: sums,
// squared deviations, and the gradient sums with and without the LeakyReLU taken back (by
// the sign of its output, or of x * scale + shift).
#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu/batchnorm2d_rows.h"
#include "kernels/cpu/batchnorm2d_rows16.h"
#include "support/check.h"

using namespace cg::cpu::bn_rows;

namespace {

// 16 rows of 16: values spread over magnitudes, so that the order of the adds shows in the
// bits, with signed zeros and exact cancellations planted.
std::vector<float> rows16(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  std::uniform_int_distribution<int> ex(-12, 12);
  std::vector<float> v(256);
  for (float& x : v) x = std::ldexp(nd(rng), ex(rng));
  v[3] = -0.0f, v[17] = 0.0f, v[40] = 1e30f, v[41] = -1e30f;
  for (int i = 0; i < 16; ++i) v[size_t(160 + i)] = -0.0f;  // a row of negative zeros
  return v;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST_CASE("16 rows of 16 at once sum as the row loops do, bit for bit") {
  for (uint32_t seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    const std::vector<float> x = rows16(seed), dy = rows16(seed + 10), y = rows16(seed + 20);
    std::vector<float> mean(16);
    for (int i = 0; i < 16; ++i) mean[size_t(i)] = x[size_t(i * 16 + 5)] * 0.5f;
    // Non-zero starting values: the rows' sums are added onto what the accumulators hold.
    // scale and shift (Src::x): some channels' x * scale + shift changes sign inside the row
    std::vector<float> sc(16), sh(16);
    for (size_t i = 0; i < 16; ++i) sc[i] = 0.5f + 0.1f * float(i), sh[i] = -mean[i] * sc[i];
    std::vector<double> sum(16, 0.25), sq(16, 0.5), sg(16, -1.0), sgx(16, 2.0), sgA(16, -1.0), sgxA(16, 2.0),
        sgX(16, -1.0), sgxX(16, 2.0);
    sums16(sum.data(), x.data());
    sq_devs16(sq.data(), x.data(), mean.data());
    grad_sums16<Src::dy>(sg.data(), sgx.data(), dy.data(), dy.data(), x.data(), 0.2f, nullptr, nullptr);
    grad_sums16<Src::y>(sgA.data(), sgxA.data(), dy.data(), y.data(), x.data(), 0.2f, nullptr, nullptr);
    grad_sums16<Src::x>(sgX.data(), sgxX.data(), dy.data(), nullptr, x.data(), 0.2f, sc.data(), sh.data());
    for (int i = 0; i < 16; ++i) {
      CAPTURE(i);
      const float* r = x.data() + i * 16;
      CHECK(same_bits(sum[size_t(i)], 0.25 + row_sum<16>(r, 16)));
      CHECK(same_bits(sq[size_t(i)], 0.5 + row_sq_dev<16>(r, mean[size_t(i)], 16)));
      double g = -1.0, gx = 2.0, gA = -1.0, gxA = 2.0, gX = -1.0, gxX = 2.0;
      row_sums<Src::dy, 16>(g, gx, dy.data() + i * 16, dy.data() + i * 16, r, 0.2f, 16);
      row_sums<Src::y, 16>(gA, gxA, dy.data() + i * 16, y.data() + i * 16, r, 0.2f, 16);
      row_sums<Src::x, 16>(gX, gxX, dy.data() + i * 16, r, r, 0.2f, 16, sc[size_t(i)], sh[size_t(i)]);
      CHECK(same_bits(sg[size_t(i)], g));
      CHECK(same_bits(sgx[size_t(i)], gx));
      CHECK(same_bits(sgA[size_t(i)], gA));
      CHECK(same_bits(sgxA[size_t(i)], gxA));
      CHECK(same_bits(sgX[size_t(i)], gX));
      CHECK(same_bits(sgxX[size_t(i)], gxX));
    }
  }
}

TEST_CASE("a row of 16 is added in order, the order the 16-row sums reproduce") {
  // 1 + 2^-24 + 2^-24 ...: in order every small term rounds away; added first among
  // themselves they would not.
  std::vector<float> r(16, std::ldexp(1.0f, -24));
  r[0] = 1.0f;
  CHECK(row_sum<16>(r.data(), 16) == 1.0);
  std::vector<float> block(256, 0.0f);
  std::memcpy(block.data() + 7 * 16, r.data(), 16 * sizeof(float));
  std::vector<double> sum(16, 0.0);
  sums16(sum.data(), block.data());
  CHECK(sum[7] == 1.0);
}
