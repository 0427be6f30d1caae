// G's projection (few inputs, many outputs) in float: each thread takes blocks of 64
// outputs, transposes that block of W into a (C, 64) panel in its cache, and runs the k4s2
// convolutions' register tile (6 rows of the batch by 64 outputs, conv_k4s2_tile.h) over
// it, broadcasting the inputs. Every output is one sum over C in order, whatever thread
// computes it.
#include "kernels/cpu/linear_short.h"

#include <algorithm>

#include "kernels/cpu/conv_k4s2_tile.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/scratch.h"

namespace cg::cpu {

namespace {

using namespace k4s2;

constexpr int64_t kMaxC = 256;

// out rows [0, MR) (ldo apart), 64 columns = bias + x rows (ldx apart) @ panel (C, 64).
template <int MR, int NV>
void tile(float* out, int64_t ldo, const float* x, int64_t ldx, const float* panel, int64_t C, const float* bias) {
  v16f acc[MR][NV];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[i][j] = bias ? loadu(bias + j * kLanes) : v16f{};
  tile_fma<false, MR, NV>(acc, x, ldx, panel, C);
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) storeu(out + i * ldo + j * kLanes, acc[i][j]);
}

template <int MR, int NV>
struct Tile {
  static constexpr auto fn = &tile<MR, NV>;
};
constexpr auto kTile = table_of<Tile>(std::make_integer_sequence<int, kMR * kNV>{});

// dW rows [0, MR) (ldw apart), columns [0, ncols) += g^T (MR of its columns, from g,
// ldg apart by row) @ panel (B, 64): the weight gradient's tile over the batch.
template <int MR, int NV>
void tile_t(float* dw, int64_t ldw, int64_t ncols, const float* g, int64_t ldg, const float* panel, int64_t B) {
  v16f acc[MR][NV] = {};
  tile_fma<true, MR, NV>(acc, g, ldg, panel, B);
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      float* d = dw + i * ldw + j * kLanes;
      if ((j + 1) * kLanes <= ncols) {
        storeu(d, loadu(d) + acc[i][j]);
      } else {  // the last columns of W's row: only those inside it
        for (int64_t l = 0; l < ncols - j * kLanes; ++l) d[l] += acc[i][j][l];
      }
    }
}

template <int MR, int NV>
struct TileT {
  static constexpr auto fn = &tile_t<MR, NV>;
};
constexpr auto kTileT = table_of<TileT>(std::make_integer_sequence<int, kMR * kNV>{});

}  // namespace

bool linear_short_applies(int64_t C, int64_t OC) {
#if defined(__AVX512F__)
  return C <= kMaxC && OC % kNB == 0;
#else
  (void)C, (void)OC;
  return false;
#endif
}

void linear_forward_short(float* out, const float* inp, const float* weight, const float* bias, int64_t B,
                          int64_t C, int64_t OC) {
  parallel_for("linear_short", OC / kNB, 1, [&](int64_t u0, int64_t u1) {
    float* panel = scratch<float>(0, size_t(C * kNB));
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t n0 = u * kNB;
      for (int64_t j = 0; j < kNB; ++j)  // panel (C, 64) = W rows n0 .. n0+63, transposed
        for (int64_t k = 0; k < C; ++k) panel[k * kNB + j] = weight[(n0 + j) * C + k];
      for (int64_t b0 = 0; b0 < B; b0 += kMR) {
        const int mr = int(std::min<int64_t>(kMR, B - b0));
        kTile[mr - 1][kNV - 1](out + b0 * OC + n0, OC, inp + b0 * C, C, panel, C, bias ? bias + n0 : nullptr);
      }
    }
  });
}

void linear_backward_weight_short(float* dweight, const float* dout, const float* inp, int64_t B, int64_t C,
                                  int64_t OC) {
  // The inputs as (B, 64) panels, one per 64 of them, zero past the last: built once, read
  // by every tile.
  const int64_t cblocks = (C + kNB - 1) / kNB;
  float* panels = scratch<float>(1, size_t(cblocks * B * kNB));
  for (int64_t cb = 0; cb < cblocks; ++cb)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < kNB; ++j) {
        const int64_t c = cb * kNB + j;
        panels[(cb * B + b) * kNB + j] = c < C ? inp[b * C + c] : 0.0f;
      }
  constexpr int64_t kRows = 8 * kMR;  // rows of dW per unit
  parallel_for("linear_short", (OC + kRows - 1) / kRows, 1, [&](int64_t u0, int64_t u1) {
    for (int64_t n0 = u0 * kRows; n0 < std::min(OC, u1 * kRows); n0 += kMR) {
      const int mr = int(std::min<int64_t>(kMR, OC - n0));
      for (int64_t cb = 0; cb < cblocks; ++cb) {
        const int64_t ncols = std::min<int64_t>(kNB, C - cb * kNB);
        const int nv = int((ncols + kLanes - 1) / kLanes);
        kTileT[mr - 1][nv - 1](dweight + n0 * C + cb * kNB, C, ncols, dout + n0, OC, panels + cb * B * kNB, B);
      }
    }
  });
}

}  // namespace cg::cpu
