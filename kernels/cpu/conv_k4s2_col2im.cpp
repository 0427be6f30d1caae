// col2im for the implicit-GEMM k4s2p1 convolution in float (see conv_k4s2_direct.h):
// conv2d's input gradient and conv_transpose2d's forward. By scatter: A^T is packed, the
// grid's values per block of 64 pixels, and each register tile (conv_k4s2_tile.h) is added,
// masked, straight into the image's phase planes. By phase (grid rows of whole vectors):
// each phase plane a stride-1 2x2 convolution of the zero-bordered grid, read in place.
#include "kernels/cpu/conv_k4s2_direct.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>

#include "base/nvtx.h"
#include "base/profile.h"
#include "kernels/cpu/conv_k4s2_tile.h"
#include "kernels/cpu/im2col_k4s2.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/threads.h"

namespace cg::cpu {

namespace {

using namespace k4s2;

// Where col2im's tile lands: column row i of vector j adds into base[j] + roff[i], masked
// by mask[j] + rmask[i] (the row's tap).
struct ScatterTo {
  float* const* base;
  const int32_t* const* mask;
  int64_t roff[kMR];
  int64_t rmask[kMR];
};

// col2im's micro-kernel: the tile (packed A^T (kc, kMR) @ panel) added straight into the
// phase planes, masked, with no column panel in between. Rows of one tile may land on
// overlapping pixels; the adds run in order, so each one sees the last.
template <int MR, int NV>
void micro_kernel_scatter(const ScatterTo& to, const float* w, const float* panel, int64_t kc, const Prefetch& pf) {
  v16f acc[MR][NV] = {};
  tile_fma_fetching<true, MR, NV>(acc, w, kMR, panel, kc, pf);
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      float* dst = to.base[j] + to.roff[i];
      const v16i m = loadu(to.mask[j] + to.rmask[i]);
      storeu(dst, loadu(dst) + (v16f)((v16i)acc[i][j] & m));
    }
}

template <int MR, int NV>
struct Scatter {
  static constexpr auto fn = &micro_kernel_scatter<MR, NV>;
};
constexpr auto kMicroScatter = table_of<Scatter>(std::make_integer_sequence<int, kMR * kNV>{});

// ypanel (M, kNB) = the nv 16-pixel vectors of Y (N, M, L) at voff[j] = n*M*L + q.
void pack_rows(float* __restrict ypanel, const float* __restrict Y, const int64_t* voff, int nv, int64_t M,
               int64_t L) {
  for (int64_t m = 0; m < M; ++m)
    for (int j = 0; j < nv; ++j)
      *reinterpret_cast<v16f*>(ypanel + m * kNB + j * kLanes) = loadu(Y + voff[j] + m * L);
}

// The phase planes of sample n's channel c, 4 of L each, with a gap of 2*margin floats
// after every channel and one of margin before every sample. A masked (+0) write spills
// at most OW+1 floats past a channel's planes, so it lands in that channel's own half of
// a gap: threads that own different samples, or different channels, never race.
struct PlaneLayout {
  int64_t CO, L, margin, cstride, stride;
  PlaneLayout(int64_t co, int64_t l, int64_t ow) : CO(co), L(l), margin((ow + 1 + 15) / 16 * 16) {
    cstride = 4 * L + 2 * margin;
    stride = CO * cstride + margin;
  }
  float* at(float* base, int64_t n, int64_t c) const { return base + n * stride + margin + c * cstride; }
};

// Planes of samples [n0, n1), channels [c0, c1) = the image's (accumulate), or the
// channel's bias, or 0.
void init_planes(float* ph, const PlaneLayout& pl, const float* img, const float* bias, int64_t n0, int64_t n1,
                 int64_t c0, int64_t c1, int64_t OH, int64_t OW, bool accumulate) {
  const int64_t L = OH * OW;
  for (int64_t n = n0; n < n1; ++n)
    for (int64_t c = c0; c < c1; ++c) {
      float* p = pl.at(ph, n, c);
      if (!accumulate) {
        std::fill(p, p + 4 * L, bias ? bias[c] : 0.0f);
        continue;
      }
      split_phases(p, img + (n * pl.CO + c) * 4 * L, OH, OW);
    }
}

// img samples [n0, n1), channels [c0, c1) = their phase planes, interleaved back.
void merge_planes(float* img, const float* ph, const PlaneLayout& pl, int64_t n0, int64_t n1, int64_t c0,
                  int64_t c1, int64_t OH, int64_t OW) {
  const int64_t L = OH * OW;
  for (int64_t n = n0; n < n1; ++n)
    for (int64_t c = c0; c < c1; ++c)
      merge_phases(img + (n * pl.CO + c) * 4 * L, pl.at(const_cast<float*>(ph), n, c), OH, OW);
}

// Where a block of kNV vectors of the grid lands: its phase-plane bases and mask rows.
struct Block {
  int nv;
  float* base[kNV];
  const int32_t* mask[kNV];
};

// One thread's share of col2im, the grid vectors [vbeg, vend) of whole samples, in groups
// of blocks whose packed grid values fit ~512 KiB: each register tile of packed A^T then
// runs over every block of the group while it sits in L1, so A (32 MiB at the paper's
// deepest layers, where a thread has only two blocks) streams once per group, not per block.
// With ypacked (every block of the grid packed, from vector 0), the blocks are read from
// there instead of packed again. The tiles of the last group fetch `next` (rows of A for
// the caller's next share), spread evenly: an earlier group's panels would evict them.
void col2im_share(float* ph, const PlaneLayout& pl, const Taps& tp, const float* Y, const float* ypacked,
                  const float* ap, int64_t M, int64_t L, int64_t k0, int64_t k1, int64_t vbeg, int64_t vend,
                  const Prefetch& next = {}) {
  const int64_t group = std::clamp<int64_t>((int64_t(1) << 17) / (M * kNB), 1, 16);
  const int64_t nblk = (vend - vbeg + kNV - 1) / kNV, last_group = nblk - (nblk - 1) / group * group;
  const int64_t ntiles = (k1 - k0 + kMR - 1) / kMR, first_call = ntiles * (nblk - last_group);
  const int64_t calls = std::max<int64_t>(1, ntiles * last_group), per_call = (next.rows + calls - 1) / calls;
  Prefetch pf = next;
  pf.every = per_call > 0 ? std::max<int64_t>(1, M / per_call) : M;
  int64_t call = 0;
  float* ypanel = ypacked ? nullptr : scratch<float>(2, size_t(group * M * kNB));
  Block blocks[16];
  for (int64_t g0 = vbeg; g0 < vend; g0 += group * kNV) {
    int nb = 0;
    for (int64_t v0 = g0; v0 < std::min(vend, g0 + group * kNV); v0 += kNV, ++nb) {
      Block& b = blocks[nb];
      b.nv = int(std::min<int64_t>(kNV, vend - v0));
      int64_t voff[kNV];
      for (int j = 0; j < b.nv; ++j) {
        const int64_t p = (v0 + j) * kLanes, n = p / L, q = p % L;
        voff[j] = n * M * L + q;
        b.base[j] = pl.at(ph, n, 0) + q;
        b.mask[j] = tp.mask.data() + q;
      }
      if (!ypacked) pack_rows(ypanel + nb * M * kNB, Y, voff, b.nv, M, L);
    }
    const float* yp = ypacked ? ypacked + g0 / kNV * M * kNB : ypanel;
    ScatterTo to{nullptr, nullptr, {}, {}};
    for (int64_t i0 = k0; i0 < k1; i0 += kMR) {  // ap holds rows k0.. of A^T, packed
      const int mr = int(std::min<int64_t>(kMR, k1 - i0));
      for (int i = 0; i < mr; ++i) {
        const int64_t k = i0 + i, tap = k & 15;
        to.roff[i] = (k >> 4) * pl.cstride + tp.off[tap];
        to.rmask[i] = tap * L;
      }
      for (int g = 0; g < nb; ++g) {
        to.base = blocks[g].base, to.mask = blocks[g].mask;
        const int64_t c = call++ - first_call;
        pf.p = next.p && c >= 0 ? next.p + c * per_call * next.stride : nullptr;
        pf.rows = std::clamp<int64_t>(next.rows - c * per_call, 0, per_call);
        kMicroScatter[mr - 1][blocks[g].nv - 1](to, ap + (i0 - k0) * M, yp + g * M * kNB, M, pf);
      }
    }
  }
}

// d (kMR) = row's columns k .. k+kMR-1, zeros from column k1 on: one row of a packed tile.
inline void pack_tile_row(float* d, const float* row, int64_t k, int64_t k1) {
  if (k + kMR <= k1)
    std::memcpy(d, row + k, kMR * sizeof(float));
  else
    for (int64_t i = 0; i < kMR; ++i) d[i] = k + i < k1 ? row[k + i] : 0.0f;
}

// ap (ceil(KR/kMR) blocks, M, kMR) = A (M, KR) by tiles of kMR columns, each register
// tile's weights one sequential run (read as stored, a tile would touch a new cache line
// for every m); the last block zero-padded. Rows in blocks of 32 (8 KiB of lines at the
// widest layer, in L1 while every tile reads its 6 columns): walking all M rows per tile
// thrashed the caches, as rows 32 KiB apart (KR = 8192) fall into the same few sets.
void pack_a(float* ap, const float* A, int64_t M, int64_t KR, bool parallel) {
  const int64_t nib = (KR + kMR - 1) / kMR;
  const int64_t rows = (M + 31) / 32;  // blocks of 32 rows
  const auto pack_row_blocks = [&](int64_t r0, int64_t r1) {
    for (int64_t m0 = r0 * 32; m0 < std::min(M, r1 * 32); m0 += 32)
      for (int64_t ib = 0; ib < nib; ++ib)
        for (int64_t m = m0; m < std::min(M, m0 + 32); ++m)
          pack_tile_row(ap + ib * M * kMR + m * kMR, A + m * KR, ib * kMR, KR);
  };
  if (parallel)
    parallel_for(nullptr, rows, 1, pack_row_blocks);
  else
    pack_row_blocks(0, rows);
}

// pack_a of columns k0 .. k1-1 only, at most 48 of them (8 destination runs, which L1's
// ways hold), row by row, asking for the row 8 rows on: A's rows are 32 KiB apart at the
// deep layers, so each row is a trip to memory, and the trips overlap only if they are
// asked for early.
void pack_a_rows(float* ap, const float* A, int64_t M, int64_t KR, int64_t k0, int64_t k1) {
  constexpr int64_t kAhead = 8;
  const int64_t nib = (k1 - k0 + kMR - 1) / kMR, lines = (k1 - k0 + kLanes - 1) / kLanes;
  for (int64_t m = 0; m < M; ++m) {
    const float* row = A + m * KR;
    if (m + kAhead < M)
      for (int64_t l = 0; l < lines; ++l) __builtin_prefetch(row + kAhead * KR + k0 + l * kLanes);
    for (int64_t ib = 0; ib < nib; ++ib) pack_tile_row(ap + ib * M * kMR + m * kMR, row, k0 + ib * kMR, k1);
  }
}

// col2im by channel: output channels [c0, c1) of every sample, kSub at a time (48 rows of
// A^T, 8 whole tiles). Each step runs on its own rows of A, packed, while its last tiles
// fetch the next step's; one pack of the chunk's rows before any tile waited on memory for
// a sixth of the call (D.conv4's input gradient at the paper's width, batch 16: 14.0 ms
// against 12.5, measured with both in one binary). Chunks start at multiples of kSub, so
// the steps, and the rows each tile adds (and in what order) are the same on any number
// of threads.
constexpr int64_t kSub = 3;
void by_channel_chunk(float* img, float* ph, const PlaneLayout& pl, const Taps& tp, const float* ypacked,
                      const float* A, const float* bias, int64_t N, int64_t M, int64_t OH, int64_t OW, int64_t c0,
                      int64_t c1, bool accumulate) {
  const int64_t L = OH * OW, KR = pl.CO * 16, per = (kSub * 16 + kMR - 1) / kMR * M * kMR;
  float* own = scratch<float>(3, size_t(2 * per));  // this step's rows, and the next step's
  pack_a_rows(own, A, M, KR, c0 * 16, std::min(c1, c0 + kSub) * 16);
  for (int64_t s0 = c0, i = 0; s0 < c1; s0 += kSub, ++i) {
    const int64_t s1 = std::min(c1, s0 + kSub), s2 = std::min(c1, s1 + kSub);
    const Prefetch next = s1 < c1 ? Prefetch{A + s1 * 16, KR, M, 1, int(s2 - s1)} : Prefetch{};
    init_planes(ph, pl, img, bias, 0, N, s0, s1, OH, OW, accumulate);
    col2im_share(ph, pl, tp, nullptr, ypacked, own + (i & 1) * per, M, L, s0 * 16, s1 * 16, 0, N * L / kLanes, next);
    merge_planes(img, ph, pl, 0, N, s0, s1, OH, OW);
    if (s1 < c1) pack_a_rows(own + ((i + 1) & 1) * per, A, M, KR, s1 * 16, s2 * 16);
  }
}

// ---- col2im by output phase, reading the grid in place (grid rows of whole vectors) ----
//
// Phase (a, b) of the image is a stride-1 convolution of the grid with a 2x2 kernel:
// img[c][2i+a][2j+b] = sum over m and the phase's 4 taps (kh, kw) of A[m][c*16 + kh*4+kw]
// * Y[m][i - dh][j - dw] (dh, dw: the taps' shifts). With the grid in a zero border each
// tap's vector is one load, so a register tile (6 output channels by 4 vectors of one
// phase) needs no packing and adds each result into the phase planes once (K = 4*M per
// phase, against M per tap for the scatter above). The grid's layout is a PaddedGrid
// (conv_k4s2_tile.h): at 8x8 and 4x4 the taps that shift sideways are masked.

// One vector of the grid, taken back through the LeakyReLU whose output act is (if any).
inline v16f grid_vec(const float* Y, const float* act, float slope, int64_t i) {
  const v16f y = loadu(Y + i);
  return in_register(act ? leaky_grad(y, loadu(act + i), slope) : y);
}

// dst (M, plane) = the grid of one sample, Y (M, OH, OW), inside its zero border; with
// act (laid out as Y), Y * (act > 0 ? 1 : slope).
void pad_grid(float* __restrict dst, const float* __restrict Y, const float* act, float slope, int64_t M,
              const PaddedGrid& g) {
  const int64_t L = g.OH * g.OW;
  for (int64_t m = 0; m < M; ++m) {
    float* d = dst + m * g.plane;
    std::fill(d, d + g.ld, 0.0f);
    std::fill(d + (g.OH + 1) * g.ld, d + g.plane, 0.0f);
    if (g.masked) {  // rows side by side: the plane's inside is Y's, contiguous (L: whole vectors)
      for (int64_t q = 0; q < L; q += kLanes) storeu(d + g.ld + q, grid_vec(Y, act, slope, m * L + q));
      continue;
    }
    for (int64_t i = 0; i < g.OH; ++i) {
      float* row = d + (i + 1) * g.ld;
      const float* src = Y + m * L + i * g.OW;
      row[0] = row[g.OW + 1] = 0.0f;
      // Vector by vector (the loaded value held in a register): as a plain copy GCC made
      // each 64-byte row a call to memmove, 4 % of the call.
      for (int64_t j = 0; j < g.OW; j += kLanes) storeu(row + 1 + j, grid_vec(Y, act, slope, src - Y + j));
    }
  }
}

// The taps of phase (a, b): t = kh*4 + kw with kh of phase a and kw of phase b, in order.
void phase_taps(int (&t)[4], int a, int b) {
  int n = 0;
  for (int kh = 0; kh < 4; ++kh)
    for (int kw = 0; kw < 4; ++kw)
      if (kPhase[kh] == a && kPhase[kw] == b) t[n++] = kh * 4 + kw;
}

// ap (phase, channel tile, M, 4 taps, kMR) = A's entries for each phase's taps, a tile's 24
// weights of one m side by side (zero past the last channel).
void pack_a_phases(float* ap, const float* A, int64_t M, int64_t CO) {
  const int64_t tiles = (CO + kMR - 1) / kMR;
  for (int ab = 0; ab < 4; ++ab) {
    int t[4];
    phase_taps(t, ab >> 1, ab & 1);
    for (int64_t ct = 0; ct < tiles; ++ct)
      for (int64_t m = 0; m < M; ++m)
        for (int q = 0; q < 4; ++q)
          for (int i = 0; i < kMR; ++i) {
            const int64_t c = ct * kMR + i;
            ap[(((ab * tiles + ct) * M + m) * 4 + q) * kMR + i] = c < CO ? A[m * CO * 16 + c * 16 + t[q]] : 0.0f;
          }
  }
}

template <int MR, int NV>
struct Phase {
  static constexpr auto fn = &micro_kernel_rows<4, false, MR, NV>;
};
template <int MR, int NV>
struct PhaseMasked {
  static constexpr auto fn = &micro_kernel_rows<4, true, MR, NV>;
};
constexpr auto kMicroPhase = table_of<Phase>(std::make_integer_sequence<int, kMR * kNV>{});
constexpr auto kMicroPhaseMasked = table_of<PhaseMasked>(std::make_integer_sequence<int, kMR * kNV>{});
// The image layers (3 channels: D.conv1's input gradient, G.deconv4's forward) would run
// the 6-channel tile half empty, 12 accumulators on 4 loads and 3 broadcasts a step; a
// tile of 3 channels by 8 vectors keeps 24 (grid rows of whole vectors only). Its vectors
// are 8 in a row of one phase plane, which read PerRow (1 or 2) vectors from each of
// 8/PerRow grid rows: one pointer per tap, the rows at multiples of ld from it. (With the
// 8 read offsets given one by one, as micro_kernel_rows takes them, GCC kept 32 pointers
// and spilled half of them: 49 stack accesses per 96 multiply-adds.)
constexpr int kNarrowMR = 3, kNarrowNV = 8;
template <int MR, int PerRow>
void phase_tile_narrow(float* out, int64_t cstride, const float* w, const float* y, int64_t plane, int64_t ld,
                       const int64_t* toff, int64_t M, bool add, const float* bias) {
  constexpr int NV = kNarrowNV, Rows = NV / PerRow;
  v16f acc[MR][NV] = {};
  for (int64_t m = 0; m < M; ++m) {
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) {
      const float* p = y + m * plane + toff[q];
      const float* wq = w + (m * 4 + q) * kMR;
      v16f wv[MR];  // the weights broadcast once, then each vector loaded as it is used
#pragma GCC unroll 3
      for (int i = 0; i < MR; ++i) wv[i] = in_register(v16f{} + wq[i]);
#pragma GCC unroll 8
      for (int r = 0; r < Rows; ++r)
#pragma GCC unroll 2
        for (int c = 0; c < PerRow; ++c) {
          const v16f x = in_register(loadu(p + r * ld + c * kLanes));
#pragma GCC unroll 3
          for (int i = 0; i < MR; ++i) acc[i][r * PerRow + c] += wv[i] * x;
        }
    }
  }
#pragma GCC unroll 3
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) {
      float* dst = out + i * cstride + j * kLanes;
      const v16f v = bias ? acc[i][j] + bias[i] : acc[i][j];
      storeu(dst, add ? loadu(dst) + v : v);
    }
}
// Whether col2im by phase takes the narrow tile: 3 channels or fewer, grid rows of 1 or 2
// whole vectors, and blocks of 8 vectors inside one sample.
bool phase_narrow(int64_t CO, int64_t OH, int64_t OW) {
  return CO <= kNarrowMR && OW % kLanes == 0 && OW / kLanes <= 2 && OH * OW / kLanes % kNarrowNV == 0;
}
using NarrowTile = void (*)(float*, int64_t, const float*, const float*, int64_t, int64_t, const int64_t*, int64_t,
                            bool, const float*);
constexpr NarrowTile kNarrowTiles[2][kNarrowMR] = {
    {phase_tile_narrow<1, 1>, phase_tile_narrow<2, 1>, phase_tile_narrow<3, 1>},
    {phase_tile_narrow<1, 2>, phase_tile_narrow<2, 2>, phase_tile_narrow<3, 2>}};

// Samples per step of col2im by phase: enough that its phase planes hold whole blocks of
// kNV vectors (4 at a 4x4 grid, whose phase plane is one vector).
int64_t phase_group(int64_t L) { return kNV / std::gcd(L / kLanes, int64_t(kNV)); }

// Where phase ab's taps read, from a vector's window (toff), and which lanes they may
// keep (mask, 4 x 16: a sideways shift drops the lanes whose column leaves the row).
void phase_reads(int64_t (&toff)[4], int32_t (&mask)[4 * kLanes], int ab, const PaddedGrid& g) {
  int t[4];
  phase_taps(t, ab >> 1, ab & 1);
  for (int q = 0; q < 4; ++q) {
    const int dh = kShift[t[q] >> 2], dw = kShift[t[q] & 3];
    toff[q] = -dh * g.ld - dw;
    for (int l = 0; l < kLanes; ++l) {
      const int64_t col = l % g.OW - dw;
      mask[q * kLanes + l] = !g.masked || (col >= 0 && col < g.OW) ? -1 : 0;
    }
  }
}

// Samples [n0, n1) by phase, phase_group(L) at a time: their grids bordered, then for
// every phase, block of 4 vectors of the phase planes and tile of 6 channels, one register
// tile into the planes, which are then merged into the image.
void by_phase_samples(float* img, float* ph, const PlaneLayout& pl, const float* Y, const float* act, float slope,
                      const float* ap, const float* bias, int64_t M, int64_t OH, int64_t OW, int64_t n0, int64_t n1,
                      bool add) {
  const PaddedGrid g(OH, OW);
  const int64_t L = OH * OW, nvec = L / kLanes, CO = pl.CO, tiles = (CO + kMR - 1) / kMR, group = phase_group(L);
  const int64_t per_row = std::max<int64_t>(1, OW / kLanes), rows_per_vec = std::max<int64_t>(1, kLanes / OW);
  float* yp = scratch<float>(2, size_t(group * g.sample(M) + 2 * g.lead)) + g.lead;
  const bool narrow = phase_narrow(CO, OH, OW);
  const int64_t vstep = narrow ? kNarrowNV : kNV;
  const auto& micro = g.masked ? kMicroPhaseMasked : kMicroPhase;
  for (int64_t s0 = n0; s0 < n1; s0 += group) {
    const int64_t s1 = std::min(n1, s0 + group);
    if (add) init_planes(ph, pl, img, nullptr, s0, s1, 0, CO, OH, OW, true);
    for (int64_t n = s0; n < s1; ++n)
      pad_grid(yp + (n - s0) * g.sample(M), Y + n * M * L, act ? act + n * M * L : nullptr, slope, M, g);
    for (int ab = 0; ab < 4; ++ab) {
      int64_t toff[4];
      int32_t mask[4 * kLanes];
      phase_reads(toff, mask, ab, g);
      const int64_t total = (s1 - s0) * nvec;
      for (int64_t v0 = 0; v0 < total; v0 += vstep) {
        const int nv = int(std::min<int64_t>(vstep, total - v0));
        int64_t voff[kNarrowNV], yoff[kNarrowNV];
        for (int j = 0; j < (narrow ? 1 : nv); ++j) {  // the narrow tile needs the first vector's place only
          const int64_t n = (v0 + j) / nvec, w = (v0 + j) % nvec;
          const int64_t i = w / per_row * rows_per_vec, j0 = w % per_row * kLanes;
          voff[j] = n * pl.stride + ab * L + w * kLanes;
          yoff[j] = n * g.sample(M) + g.at(i, j0);
        }
        if (narrow) {
          kNarrowTiles[per_row - 1][CO - 1](pl.at(ph, s0, 0) + voff[0], pl.cstride, ap + ab * M * 4 * kMR, yp + yoff[0],
                                            g.plane, g.ld, toff, M, add, bias && !add ? bias : nullptr);
          continue;
        }
        for (int64_t ct = 0; ct < tiles; ++ct) {
          const int mr = int(std::min<int64_t>(kMR, CO - ct * kMR));
          micro[mr - 1][nv - 1](pl.at(ph, s0, ct * kMR), pl.cstride, voff, ap + (ab * tiles + ct) * M * 4 * kMR, yp,
                                g.plane, yoff, toff, mask, M, add, bias && !add ? bias + ct * kMR : nullptr);
        }
      }
    }
    merge_planes(img, ph, pl, s0, s1, 0, CO, OH, OW);
  }
}

// COVERGAN_COL2IM=scatter keeps every shape on the scatter (A/B).
bool col2im_by_phase() {
  static const bool on = !env_is("COVERGAN_COL2IM", "scatter");
  return on;
}

}  // namespace

void col2im_k4s2_direct(float* img, const float* Y, const float* A, const float* bias, int64_t N, int64_t M,
                        int64_t OH, int64_t OW, int64_t CO, bool accumulate, const float* act, float slope) {
  NVTX_RANGE_FN();
  const int64_t L = OH * OW, KR = CO * 16, T = compute_threads();
  prof::add_work(2.0 * double(N * M * KR * L), 4.0 * double(N * M * L + M * KR + N * CO * 4 * L * (accumulate ? 2 : 1)));
  const PlaneLayout pl(CO, L, OW);
  float* ph = scratch<float>(0, size_t(N * pl.stride));
  const Taps tp = make_taps(OH, OW);
  // Chunks of whole samples, all sharing one packed A; or, where A outweighs the grid
  // (the deep layers at the paper's width: 32 MiB of A, 256 grid pixels), of whole output
  // channels, each packing and streaming only its own part of A. A chunk of samples
  // streams all of A (single samples were 20 % slower here), so it is at least 1/16 of
  // them. Every output value is summed in the same order whatever chunk or thread
  // computes it.
  const bool by_channel = KR > N * L && CO >= T;
  // By phase where the grid is not outweighed by A, its rows are whole vectors or divide
  // one, and there are channels enough for full tiles (D.conv2's and D.conv3's input
  // gradients, G.deconv2's and G.deconv3's forwards at 64x64, base 32): D.conv2's shape at
  // base 32, batch 64, 3.0-3.2 ms against 3.3-3.8 by scatter, alone, alternating. The
  // 3-channel layers gained nothing on the 6-channel tile; they run by phase on the
  // narrow tile (phase_narrow).
  const bool phase_rows = (OW % kLanes == 0 || kLanes % OW == 0) && CO >= kMR;
  if (!by_channel && (phase_rows || phase_narrow(CO, OH, OW)) && col2im_by_phase()) {
    const int64_t tiles = (CO + kMR - 1) / kMR, group = phase_group(L);
    float* app = scratch<float>(1, size_t(4 * tiles * M * 4 * kMR));
    pack_a_phases(app, A, M, CO);
    parallel_for("col2im_k4s2_direct", (N + group - 1) / group, 1, [&](int64_t u0, int64_t u1) {
      by_phase_samples(img, ph, pl, Y, act, slope, app, bias, M, OH, OW, u0 * group, std::min(N, u1 * group),
                       accumulate);
    });
    return;
  }
  if (act) Y = leaky_grad_copy(Y, act, slope, N * M * L);
  float* ap = by_channel ? nullptr : scratch<float>(1, size_t((KR + kMR - 1) / kMR * M * kMR));
  if (ap) pack_a(ap, A, M, KR, M * KR > 65536);
  const int64_t units = by_channel ? CO : N;
  // By channel, every chunk reads every block of the grid: packed once here, so chunks can
  // be small (about 1/64 of the channels, whole steps of kSub: at 1/16 the last chunk kept
  // one thread waiting for the other, 6 % of the call).
  float* ypacked = nullptr;
  if (by_channel) {
    const int64_t nvec = N * L / kLanes, nblk = (nvec + kNV - 1) / kNV;
    ypacked = scratch<float>(1, size_t(nblk * M * kNB));
    parallel_for(nullptr, nblk, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const int nv = int(std::min<int64_t>(kNV, nvec - b * kNV));
        int64_t voff[kNV];
        for (int j = 0; j < nv; ++j) {
          const int64_t p = (b * kNV + j) * kLanes;
          voff[j] = p / L * M * L + p % L;
        }
        pack_rows(ypacked + b * M * kNB, Y, voff, nv, M, L);
      }
    });
  }
  if (by_channel) {
    const int64_t grain = kSub * std::max<int64_t>(1, units / 64 / kSub);
    parallel_for("col2im_k4s2_direct", units, grain, [&](int64_t c0, int64_t c1) {
      by_channel_chunk(img, ph, pl, tp, ypacked, A, bias, N, M, OH, OW, c0, c1, accumulate);
    });
    return;
  }
  // By sample, chunks and steps are whole groups of g samples, whose vectors fill whole
  // blocks (a part block runs a narrower, slower tile).
  const int64_t g = kNB / std::gcd(L, int64_t(kNB)), grain = std::max<int64_t>(1, units / 16 / g) * g;
  parallel_for("col2im_k4s2_direct", units, grain, [&](int64_t n0, int64_t n1) {
    // A chunk's samples in steps whose planes (about 256 KiB) stay in L2 from their
    // initialisation through the scatter to the merge: whole chunks (16 samples, 2 MiB at
    // D.conv2) wrote them to memory and read them back twice.
    const int64_t step = std::max<int64_t>(1, (int64_t(1) << 16) / pl.stride / g) * g;
    for (int64_t s0 = n0; s0 < n1; s0 += step) {
      const int64_t s1 = std::min(n1, s0 + step);
      init_planes(ph, pl, img, bias, s0, s1, 0, CO, OH, OW, accumulate);
      col2im_share(ph, pl, tp, Y, nullptr, ap, M, L, 0, KR, s0 * L / kLanes, s1 * L / kLanes);
      merge_planes(img, ph, pl, s0, s1, 0, CO, OH, OW);
    }
  });
}

}  // namespace cg::cpu
