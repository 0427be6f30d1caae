// The kernel-4 stride-2 padding-1 im2col/col2im fast path (kernels/cpu/im2col_k4s2.cpp)
// against the definition written as plain loops: bit-exact in float and double, on
// even images down to 2x2, with columns of a wider (batched) matrix.
#include <random>
#include <vector>

#include "kernels/cpu/im2col.h"
#include "kernels/cpu/im2col_k4s2.h"
#include "support/check.h"

using namespace cg;

namespace {

// col[(c*16 + kh*4 + kw)*ldc + oh*OW + ow] = img[c, 2oh+kh-1, 2ow+kw-1], 0 in the padding;
// visit(col index, img index or -1) walks the entries in the generic col2im order.
template <class F>
void walk(int64_t C, int64_t H, int64_t W, int64_t ldc, F visit) {
  const int64_t OH = H / 2, OW = W / 2;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t kh = 0; kh < 4; ++kh)
      for (int64_t kw = 0; kw < 4; ++kw)
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t ow = 0; ow < OW; ++ow) {
            const int64_t y = 2 * oh + kh - 1, x = 2 * ow + kw - 1;
            const bool in = y >= 0 && y < H && x >= 0 && x < W;
            visit(((c * 4 + kh) * 4 + kw) * ldc + oh * OW + ow, in ? (c * H + y) * W + x : -1);
          }
}

template <class T>
void check_shape(int64_t C, int64_t H, int64_t W, int64_t extra, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(-1, 1);
  const int64_t OH = H / 2, OW = W / 2, ldc = OH * OW + extra, rows = C * 16;
  std::vector<T> img(size_t(C * H * W));
  for (T& v : img) v = T(u(rng));
  // im2col: every entry of the used columns written (sentinels elsewhere untouched).
  std::vector<T> col(size_t(rows * ldc), T(7)), want(col);
  walk(C, H, W, ldc, [&](int64_t ci, int64_t ii) { want[size_t(ci)] = ii < 0 ? T(0) : img[size_t(ii)]; });
  REQUIRE(cpu::is_k4s2p1(H, W, 4, 2, 1, OH, OW));
  cpu::im2col<T>(col.data(), ldc, img.data(), C, H, W, 4, 2, 1, OH, OW);
  CHECK(col == want);
  // col2im: accumulates onto existing values, in the reference's order, bit for bit.
  for (T& v : col) v = T(u(rng));
  std::vector<T> got(img), ref(img);
  walk(C, H, W, ldc, [&](int64_t ci, int64_t ii) {
    if (ii >= 0) ref[size_t(ii)] += col[size_t(ci)];
  });
  cpu::col2im_add<T>(got.data(), col.data(), ldc, C, H, W, 4, 2, 1, OH, OW);
  CHECK(got == ref);
}

}  // namespace

TEST_CASE("im2col and col2im for kernel 4 stride 2 padding 1 equal the definition bit for bit") {
  std::mt19937 rng(7);
  const int64_t shapes[][3] = {{1, 2, 2}, {2, 4, 6}, {3, 8, 8}, {2, 2, 10}, {1, 6, 2}, {2, 16, 12}, {1, 64, 64}};
  for (const auto& s : shapes)
    for (int64_t extra : {0, 5}) {
      INFO("C ", s[0], " H ", s[1], " W ", s[2], " ldc extra ", extra);
      check_shape<float>(s[0], s[1], s[2], extra, rng);
      check_shape<double>(s[0], s[1], s[2], extra, rng);
    }
}

TEST_CASE("the kernel 4 stride 2 fast path is not taken for odd images or other shapes") {
  CHECK_FALSE(cpu::is_k4s2p1(5, 4, 4, 2, 1, 2, 2));  // H odd: (5+2-4)/2+1 = 2, but 5 != 4
  CHECK_FALSE(cpu::is_k4s2p1(4, 4, 3, 2, 1, 2, 2));
  CHECK_FALSE(cpu::is_k4s2p1(4, 4, 4, 1, 1, 3, 3));
  CHECK_FALSE(cpu::is_k4s2p1(4, 4, 4, 2, 0, 1, 1));
  CHECK(cpu::is_k4s2p1(8, 6, 4, 2, 1, 4, 3));
}

TEST_CASE("the batched kernel 4 stride 2 path (channels outside, samples inside) equals the per-sample one bit for bit") {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(-1, 1);
  // 11 samples: one full block of 8 and a partial one; 64x64 with 3 channels is D.conv1.
  const int64_t shapes[][3] = {{3, 64, 64}, {5, 8, 8}, {4, 4, 6}, {2, 2, 2}};
  for (const auto& s : shapes) {
    const int64_t nb = 11, C = s[0], H = s[1], W = s[2], OH = H / 2, OW = W / 2, L = OH * OW, ldc = nb * L;
    INFO("C ", C, " H ", H, " W ", W);
    std::vector<float> img(size_t(nb * C * H * W));
    for (float& v : img) v = float(u(rng));
    std::vector<float> got(size_t(C * 16 * ldc), 7.f), want(got);
    cpu::im2col_batch<float>(got.data(), img.data(), nb, C, H, W, 4, 2, 1, OH, OW);
    for (int64_t n = 0; n < nb; ++n)
      walk(C, H, W, ldc, [&](int64_t ci, int64_t ii) {
        want[size_t(ci + n * L)] = ii < 0 ? 0.f : img[size_t(n * C * H * W + ii)];
      });
    CHECK(got == want);
    // col2im: onto existing values, each sample as the definition's order gives.
    std::vector<float> col(got.size());
    for (float& v : col) v = float(u(rng));
    std::vector<float> out(img), ref(img);
    cpu::col2im_add_batch<float>(out.data(), col.data(), nb, C, H, W, 4, 2, 1, OH, OW);
    for (int64_t n = 0; n < nb; ++n)
      walk(C, H, W, ldc, [&](int64_t ci, int64_t ii) {
        if (ii >= 0) ref[size_t(n * C * H * W + ii)] += col[size_t(ci + n * L)];
      });
    CHECK(out == ref);
  }
}
