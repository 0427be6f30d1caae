// Philox4x32-10: the raw generator pinned to Random123's known-answer vectors, the
// stream layout (offsets, fill boundaries), the exact uniform mapping, and the
// statistics of uniforms and normals.
#include <cmath>
#include <cstring>

#include "engine/philox.h"
#include "support/check.h"

using namespace cg;

namespace {

std::vector<uint32_t> words(const Tensor& t) {
  std::vector<uint32_t> v(static_cast<size_t>(t.numel()));
  Tensor h = t.to(Device::cpu);
  std::memcpy(v.data(), h.raw(), v.size() * 4);
  return v;
}

std::vector<uint32_t> draw_bits(uint64_t seed, uint64_t offset, int64_t n) {
  Philox g(seed, offset);
  Tensor t = Tensor::empty(Shape{n}, DType::i32);
  g.bits(t);
  return words(t);
}

}  // namespace

TEST_CASE("philox4x32_10 matches the Random123 known-answer vectors") {
  struct Kat {
    uint32_t ctr[4], key[2], out[4];
  };
  const Kat kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const Kat& k : kats) {
    uint32_t out[4];
    common::philox4x32_10(k.ctr, k.key, out);
    for (int i = 0; i < 4; ++i) CHECK(out[i] == k.out[i]);
  }
}

TEST_CASE("the stream is block n = (offset+i)/4, word (offset+i)%4, key = the 64-bit seed") {
  // Seed 0, block 0 is the all-zero known-answer vector.
  CHECK(draw_bits(0, 0, 4) == std::vector<uint32_t>{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  // Seed splits into key {lo, hi}; block n into counter {lo, hi, 0, 0}.
  const uint64_t seed = 0x299f31d0a4093822ull, block = 0x05a308d3243f6a88ull;
  uint32_t want[4];
  const uint32_t ctr[4] = {0x243f6a88, 0x05a308d3, 0, 0}, key[2] = {0xa4093822, 0x299f31d0};
  common::philox4x32_10(ctr, key, want);
  const auto got = draw_bits(seed, block * 4 + 1, 3);  // words 1..3 of that block
  CHECK(got == std::vector<uint32_t>{want[1], want[2], want[3]});
}

TEST_CASE("fills depend only on (seed, offset): any split of a stream gives the same values") {
  const auto all = draw_bits(42, 0, 37);
  for (uint64_t off : {1u, 3u, 4u, 5u, 17u}) {
    const auto tail = draw_bits(42, off, static_cast<int64_t>(37 - off));
    CHECK(std::equal(tail.begin(), tail.end(), all.begin() + static_cast<long>(off)));
  }
  // Offsets advance by numel rounded up to 4; next_u32 takes the next word.
  Philox g(42);
  Tensor a = Tensor::empty(Shape{3}, DType::i32);
  g.bits(a);
  CHECK(g.offset() == 4);
  Tensor b = Tensor::empty(Shape{8}, DType::i32);
  g.bits(b);
  CHECK(g.offset() == 12);
  CHECK(g.next_u32() == all[12]);
  CHECK(g.next_u32() == all[13]);
  CHECK(g.offset() == 14);
  CHECK(words(b) == std::vector<uint32_t>(all.begin() + 4, all.begin() + 12));
  // Same seed reproduces; another seed does not.
  CHECK(draw_bits(42, 0, 37) == all);
  CHECK(draw_bits(43, 0, 37) != all);
}

TEST_CASE("uniform floats are exactly fmaf((u >> 8) * 2^-24, hi - lo, lo)") {
  const auto w = draw_bits(7, 5, 1000);
  Philox g(7, 5);
  Tensor t = Tensor::empty(Shape{10, 100});
  g.uniform(t, -1.0, 3.0);
  const float* v = t.data<float>();
  for (size_t i = 0; i < w.size(); ++i) {
    const float want = std::fmaf(static_cast<float>(w[i] >> 8) / 16777216.f, 4.f, -1.f);
    REQUIRE(v[i] == want);
  }
}

TEST_CASE("uniform: range, mean and variance, and f64 fills use 32 bits") {
  for (DType dt : {DType::f32, DType::f64}) {
    Philox g(1234);
    const int64_t n = 200000;
    Tensor t = Tensor::empty(Shape{n}, dt);
    g.uniform(t, -2.0, 1.0);
    CHECK(g.offset() == static_cast<uint64_t>(n));
    const auto v = t.to_vector();
    double s = 0, s2 = 0, lo = 1e9, hi = -1e9;
    for (double x : v) {
      s += x;
      s2 += x * x;
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
    const double mean = s / n, var = s2 / n - mean * mean;
    CHECK(lo >= -2.0);
    CHECK(hi < 1.0);
    CHECK(lo < -1.99);
    CHECK(hi > 0.99);
    CHECK(std::fabs(mean - (-0.5)) < 0.01);      // sd of the mean: 0.87/sqrt(n) = 0.002
    CHECK(std::fabs(var - 9.0 / 12.0) < 0.01);  // (hi-lo)^2/12
  }
}

TEST_CASE("normal: mean, standard deviation, one-sigma mass, and f32 is the f64 value rounded") {
  const int64_t n = 200001;  // odd: the last pair is split
  Philox g32(99), g64(99);
  Tensor a = Tensor::empty(Shape{n}), b = Tensor::empty(Shape{n}, DType::f64);
  g32.normal(a, 3.0, 2.0);
  g64.normal(b, 3.0, 2.0);
  const float* av = a.data<float>();
  const double* bv = b.data<double>();
  double s = 0, s2 = 0;
  int64_t within = 0, mismatched = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double z = (bv[i] - 3.0) / 2.0;
    s += z;
    s2 += z * z;
    within += std::fabs(z) < 1.0;
    mismatched += av[i] != static_cast<float>(bv[i]);
  }
  CHECK(mismatched == 0);
  const double mean = s / n, sd = std::sqrt(s2 / n - mean * mean);
  CHECK(std::fabs(mean) < 0.01);  // sd of the mean 0.0022
  CHECK(std::fabs(sd - 1.0) < 0.01);
  CHECK(std::fabs(static_cast<double>(within) / n - 0.682689) < 0.005);
}

TEST_CASE("normal pairs: a value depends on its position only, even when a fill starts mid-pair") {
  Philox g(5);
  Tensor all = Tensor::empty(Shape{12}, DType::f64);
  g.normal(all);
  for (uint64_t off : {1u, 2u, 3u, 7u}) {
    Philox h(5, off);
    Tensor part = Tensor::empty(Shape{static_cast<int64_t>(12 - off)}, DType::f64);
    h.normal(part);
    for (int64_t i = 0; i < part.numel(); ++i) CHECK(part.data<double>()[i] == all.data<double>()[i + off]);
  }
  // Box-Muller's two halves: z0^2 + z1^2 = -2 log u1 for the pair's first word.
  const auto w = draw_bits(5, 0, 2);
  const double u1 = (w[0] + 0.5) / 4294967296.0;
  const double z0 = all.data<double>()[0], z1 = all.data<double>()[1];
  CHECK(z0 * z0 + z1 * z1 == doctest::Approx(-2.0 * std::log(u1)).epsilon(1e-12));
}

TEST_CASE("next_uniform and next_below") {
  Philox g(3);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) {
    const int64_t k = g.next_below(7);
    REQUIRE(k >= 0);
    REQUIRE(k < 7);
    ++counts[static_cast<size_t>(k)];
  }
  for (int c : counts) CHECK(std::abs(c - 10000) < 500);  // sd ~ 93
  CHECK(g.next_below(1) == 0);
  const int64_t big = (int64_t{1} << 40) + 3;
  for (int i = 0; i < 100; ++i) {
    const int64_t k = g.next_below(big);
    CHECK((k >= 0 && k < big));
  }
  const uint64_t before = g.offset();
  const double u = g.next_uniform();
  CHECK((u >= 0.0 && u < 1.0));
  CHECK(g.offset() == before + 1);
  CHECK_THROWS_AS(g.next_below(0), cg::Error);
}

TEST_CASE("philox fills reject tensors they cannot fill") {
  Philox g(1);
  Tensor i = Tensor::empty(Shape{4}, DType::i32), f = Tensor::empty(Shape{4});
  CHECK_THROWS_WITH_AS(g.uniform(i), doctest::Contains("Philox::uniform: needs f32 or f64"), cg::Error);
  CHECK_THROWS_WITH_AS(g.normal(i), doctest::Contains("Philox::normal"), cg::Error);
  CHECK_THROWS_WITH_AS(g.bits(f), doctest::Contains("Philox::bits needs an i32 tensor"), cg::Error);
  CHECK_THROWS_AS(g.uniform(f, 1.0, 0.0), cg::Error);
  CHECK(g.offset() == 0);  // failed fills consume nothing
  Tensor empty = Tensor::empty(Shape{0});
  g.uniform(empty);
  CHECK(g.offset() == 0);
}
