// The k4s2 weight gradient with Y transposed, where the output rows are whole vectors
// (see conv_k4s2_direct.h): per 256-pixel panel, Y's rows transposed in registers and the
// image's bordered phase planes read in place by a register tile over dW^T.
#include <algorithm>
#include <array>
#include <cstring>
#include <utility>
#include <vector>

#include "base/check.h"
#include "base/nvtx.h"
#include "base/profile.h"
#include "kernels/cpu/batchnorm2d_rows.h"
#include "kernels/cpu/conv_k4s2_direct.h"
#include "kernels/cpu/conv_k4s2_planes.h"
#include "kernels/cpu/conv_k4s2_tile.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/scratch.h"

namespace cg::cpu {

namespace {

using namespace k4s2;

// dW (R, K) = Y (R, P) @ col(img)^T (P, K) reduces over the pixels, so one side must be
// pixel-major. The column matrix has K = C*16 values a pixel and Y has R: 2C at the GAN's
// inner layers, so transposing Y instead costs an eighth of the transposes (two thirds at
// the image layers at base 32: 32 against 48). The tile then runs over dW^T (K, R): MR
// rows of k, each a scalar broadcast straight from the image's bordered phase planes (no
// masks, no packing), times NV vectors of Y^T.

constexpr int kWtMaxMR = 12;

// dT rows [k0, k0+MR) x vectors [0, NV) (ldd apart) += over the panel's pixels, `rows`
// grid rows of OW: src[m][i*ld + j] * yT[(i*OW + j)*ldy + v*16 ..].
template <int MR, int NV>
void wgrad_t_tile(float* dT, int64_t ldd, const float* yT, int64_t ldy, const float* const* src, int64_t rows,
                  int64_t OW, int64_t ld) {
  v16f acc[MR][NV];
#pragma GCC unroll 12
  for (int m = 0; m < MR; ++m)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[m][v] = loadu(dT + m * ldd + v * kLanes);
  const float* s[MR];
#pragma GCC unroll 12
  for (int m = 0; m < MR; ++m) s[m] = src[m];
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < OW; ++j) {
      v16f y[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) y[v] = in_register(loadu(yT + v * kLanes));
#pragma GCC unroll 12
      for (int m = 0; m < MR; ++m)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[m][v] += s[m][j] * y[v];
      yT += ldy;
    }
#pragma GCC unroll 12
    for (int m = 0; m < MR; ++m) s[m] += ld;
  }
#pragma GCC unroll 12
  for (int m = 0; m < MR; ++m)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) storeu(dT + m * ldd + v * kLanes, acc[m][v]);
}

using WtTile = void (*)(float*, int64_t, const float*, int64_t, const float* const*, int64_t, int64_t, int64_t);
template <int NV, int... M>
constexpr std::array<WtTile, kWtMaxMR> wt_row(std::integer_sequence<int, M...>) {
  return {{&wgrad_t_tile<M + 1, NV>...}};
}
// [nv-1][mr-1]; full tiles have 24 accumulators (mr = 24 / nv)
constexpr std::array<std::array<WtTile, kWtMaxMR>, 4> kWtTiles = {
    wt_row<1>(std::make_integer_sequence<int, kWtMaxMR>{}), wt_row<2>(std::make_integer_sequence<int, kWtMaxMR>{}),
    wt_row<3>(std::make_integer_sequence<int, kWtMaxMR>{}), wt_row<4>(std::make_integer_sequence<int, kWtMaxMR>{})};

// yT (npx, R) = Y's rows of the panel's pixels [q0, q0+npx) of one sample, y (R, L):
// 16x16 blocks transposed in registers; with act (laid out as y), each value first taken
// back through the LeakyReLU whose output act is. With lanes (R vectors), each row's
// 16-pixel vectors are also added into its lanes in pixel order: the lanes of
// bn_rows::row_sum_leaky (row_sum_lanes without act), for the bias gradient.
void transpose_panel(float* __restrict yT, const float* y, const float* act, float slope, int64_t R, int64_t L,
                     int64_t q0, int64_t npx, v16f* lanes) {
  for (int64_t r0 = 0; r0 < R; r0 += kLanes)
    for (int64_t p = 0; p < npx; p += kLanes) {
      v16f rows[16];
#pragma GCC unroll 16
      for (int t = 0; t < 16; ++t) rows[t] = loadu(y + (r0 + t) * L + q0 + p);
      if (act)
#pragma GCC unroll 16
        for (int t = 0; t < 16; ++t) rows[t] = leaky_grad(rows[t], loadu(act + (r0 + t) * L + q0 + p), slope);
      if (lanes)
#pragma GCC unroll 16
        for (int t = 0; t < 16; ++t) lanes[r0 + t] += rows[t];
      transpose16(rows);
#pragma GCC unroll 16
      for (int t = 0; t < 16; ++t) storeu(yT + (p + t) * R + r0, rows[t]);
    }
}

// The pixels [pbeg, pend) (whole panels of kWtPanel inside a sample) into dT (K, R), zeroed
// first. With rows_sum (N, R): whole samples only; rows_sum[n, r] = the sum of sample n's
// row r of Y (through act), as bn_rows::row_sum_leaky gives it.
constexpr int64_t kWtPanel = 256;
void wgrad_t_share(float* dT, double* rows_sum, const float* Y, const float* act, float slope, const float* img,
                   int64_t R, int64_t C, int64_t OH, int64_t OW, int64_t pbeg, int64_t pend) {
  const PaddedGrid g(OH, OW);
  const int64_t L = OH * OW, K = C * 16, nv_all = R / kLanes, nvt = std::min<int64_t>(4, nv_all);
  const int64_t mrt = std::min<int64_t>(kWtMaxMR, 24 / nvt), rows = kWtPanel / OW;
  std::fill(dT, dT + K * R, 0.0f);
  float* ph = scratch<float>(0, size_t(g.sample(4 * C)));
  float* yT = scratch<float>(2, size_t(kWtPanel * R));
  std::vector<v16f> lanes(rows_sum ? size_t(R) : 0);
  const std::array<int64_t, 16> toff = tap_offsets(g);
  int64_t have = -1;
  for (int64_t p0 = pbeg; p0 < pend; p0 += kWtPanel) {
    const int64_t n = p0 / L, q0 = p0 % L, i0 = q0 / OW;
    if (n != have) split_padded(ph, img + n * C * 4 * L, C, g), have = n;
    if (rows_sum && q0 == 0) std::fill(lanes.begin(), lanes.end(), v16f{});
    transpose_panel(yT, Y + n * R * L, act ? act + n * R * L : nullptr, slope, R, L, q0, kWtPanel,
                    rows_sum ? lanes.data() : nullptr);
    if (rows_sum && q0 + kWtPanel == L)
      for (int64_t r = 0; r < R; ++r) {
        // as bn_rows::lane_sum16 ends row_sum_leaky (a sample's row is whole 16-pixel
        // vectors: no tail; tests/layers/test_conv2d_leaky.cpp compares the bits)
        float lane[kLanes];
        std::memcpy(lane, &lanes[size_t(r)], sizeof lane);
        rows_sum[n * R + r] = bn_rows::lanes_in_order(lane);
      }
    for (int64_t k0 = 0; k0 < K; k0 += mrt) {
      const int mr = int(std::min<int64_t>(mrt, K - k0));
      const float* src[kWtMaxMR];
      for (int m = 0; m < mr; ++m) {
        const int64_t k = k0 + m;
        src[m] = ph + (k >> 4) * 4 * g.plane + toff[k & 15] + g.at(i0, 0);
      }
      for (int64_t v0 = 0; v0 < nv_all; v0 += nvt) {
        const int nv = int(std::min<int64_t>(nvt, nv_all - v0));
        kWtTiles[nv - 1][mr - 1](dT + k0 * R + v0 * kLanes, R, yT + v0 * kLanes, R, src, rows, OW, g.ld);
      }
    }
  }
}

}  // namespace

// Units own whole panels and a zeroed copy of dW^T: split by the shapes, never the thread
// count (the same bits on any number of threads).
constexpr int64_t kWtSplits = 8;

bool weight_grad_k4s2_t_applies(int64_t R, int64_t C, int64_t OH, int64_t OW) {
  static const bool on = !env_is("COVERGAN_WGRAD", "cols");
  // The copies of dW^T: at the paper's inner layers (2-32 MiB each) writing and adding
  // them back would outweigh what the transposes save. Narrower rows (8x8, 4x4 outputs,
  // several samples to a panel, planes read from a border on every side) were slower
  // than the transposed column matrix: D.conv3's backward-weight at base 32 7.51-7.66 ms
  // an iteration against 6.49-6.79.
  const bool small = kWtSplits * C * 16 * R * 4 <= (int64_t(4) << 20);
  // And Y must be the narrower side: the image layers at the paper's width have 128 rows
  // of Y against 48 columns, and there D.conv1's backward-weight took 1.89 ms against 1.75.
  const bool fewer = R < C * 16;
  return on && OW % kLanes == 0 && R % kLanes == 0 && (OH * OW) % kWtPanel == 0 && small && fewer;
}

namespace {
// The shares: [panels * s / splits, panels * (s + 1) / splits) of the panels.
int64_t wt_splits(int64_t panels) { return std::min<int64_t>(kWtSplits, panels); }
}  // namespace

bool weight_grad_k4s2_t_sums_bias(int64_t N, int64_t R, int64_t C, int64_t OH, int64_t OW) {
  if (!weight_grad_k4s2_t_applies(R, C, OH, OW)) return false;
  const int64_t per_sample = OH * OW / kWtPanel, panels = N * per_sample, splits = wt_splits(panels);
  for (int64_t s = 0; s < splits; ++s)
    if (panels * s / splits % per_sample != 0) return false;
  return true;
}

void weight_grad_k4s2_t(float* dweight, const float* Y, const float* img, int64_t N, int64_t R, int64_t C,
                        int64_t OH, int64_t OW, const float* act, float slope, float* dbias) {
  NVTX_RANGE_FN();
  CG_CHECK(!dbias || weight_grad_k4s2_t_sums_bias(N, R, C, OH, OW),
           "weight_grad_k4s2_t: the bias gradient needs shares of whole samples");
  const int64_t L = OH * OW, K = C * 16, panels = N * L / kWtPanel;
  // Y (and act) and the image read, dW read and written; Y^T and the planes stay in cache
  prof::add_work(2.0 * double(R * K * N * L), 4.0 * double(R * N * L * (act ? 2 : 1) + N * C * 4 * L + 2 * R * K));
  const int64_t splits = wt_splits(panels);
  float* part = scratch<float>(3, size_t(splits * K * R));
  std::vector<double> rows_sum(dbias ? size_t(N * R) : 0);
  parallel_for("weight_grad_k4s2_t", splits, 1, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s)
      wgrad_t_share(part + s * K * R, dbias ? rows_sum.data() : nullptr, Y, act, slope, img, R, C, OH, OW,
                    panels * s / splits * kWtPanel, panels * (s + 1) / splits * kWtPanel);
  });
  // The bias gradient as bias_grad_rows adds it: each row's sum in double, in sample order.
  if (dbias)
    for (int64_t r = 0; r < R; ++r) {
      double sum = 0;
      for (int64_t n = 0; n < N; ++n) sum += rows_sum[size_t(n * R + r)];
      dbias[r] += float(sum);
    }
  // dW += the copies' sum, in split order, by rows of dW^T on the pool
  parallel_for(nullptr, K, 64, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k)
      for (int64_t r = 0; r < R; ++r) {
        float v = part[k * R + r];
        for (int64_t s = 1; s < splits; ++s) v += part[(s * K + k) * R + r];
        dweight[r * K + k] += v;
      }
  });
}

}  // namespace cg::cpu
