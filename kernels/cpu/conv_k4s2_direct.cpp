// Implicit-GEMM k4s2p1 convolution in float (see conv_k4s2_direct.h), forward and weight
// gradient, on the register tile of conv_k4s2_tile.h; col2im is in conv_k4s2_col2im.cpp.
// Every image is first split into its stride-2 phase planes P[a][b] = img[2i+a][2j+b]:
// tap (kh,kw) of output pixel q reads plane (a,b) at q + di*OW + dj (as im2col_k4s2.cpp),
// masked at the border, so a column row over 16 pixels is one shifted vector load. Output
// pixels, flattened over (n, q), run in 16-pixel vectors that never straddle two samples.
//  - forward: per block of kNB pixels, kKC column rows packed into a cache-sized panel;
//    the weights are broadcast straight from W (OC, C*16). Output rows of whole vectors
//    read bordered planes instead: in place (6 channels or more), or copied into one
//    unmasked panel per block (fewer).
//  - weight gradient: the column matrix built transposed (16x16 register transposes),
//    256 pixels at a time; the tile accumulates straight into rows of dW (units own
//    column blocks of dW, or ranges of pixels and copies of a small dW). Where output
//    rows are whole vectors, Y is transposed instead (conv_k4s2_wgrad_t.cpp).
// im2col + sgemm spent about half of D's forward time writing and repacking columns.
#include "kernels/cpu/conv_k4s2_direct.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <numeric>

#include "base/check.h"
#include "base/nvtx.h"
#include "base/profile.h"
#include "kernels/common/activations.h"
#include "kernels/cpu/activations.h"
#include "kernels/cpu/conv_k4s2_planes.h"
#include "kernels/cpu/conv_k4s2_tile.h"
#include "kernels/cpu/im2col.h"
#include "kernels/cpu/im2col_k4s2.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/threads.h"

namespace cg::cpu {

namespace {

using namespace k4s2;

// Blocks whose panels one forward unit packs at once. 4 was no faster at batch 16 and
// slower at 32 (D.conv4 at the paper's width, real and generated images in one batch:
// 353 GFLOP/s against 371 with 2, alone, alternating in one process): 4 panels of 64 KiB
// and the streamed weights crowd L2.
constexpr int64_t kMaxFwdBlocks = 2;
constexpr int64_t kKC = 256;        // panel rows: (256, 64) floats = 64 KiB, in L2

// The phase planes (split_phases) of channels [c0, c1) of samples [n0, n1) of img
// (N, C, 2*OH, 2*OW), as (n1-n0, c1-c0, 4, L) in this thread's scratch slot 0, with room
// before and after for the masked reads that shift past the first and last plane (the
// widest shift is OW+1). A unit of work splits only the samples it packs, so its planes
// are still in L2 when read: one pass over the whole batch first wrote 8 MiB at D.conv2
// that the packing then read back from memory (a fifth of the forward's time).
const float* split_block(const float* img, int64_t C, int64_t n0, int64_t n1, int64_t c0, int64_t c1, int64_t OH,
                         int64_t OW) {
  const int64_t L = OH * OW, nc = c1 - c0, margin = (OW + 1 + 15) / 16 * 16 + 16;
  float* ph = scratch<float>(0, size_t((n1 - n0) * nc * 4 * L + 2 * margin)) + margin;
  for (int64_t n = n0; n < n1; ++n)
    for (int64_t c = c0; c < c1; ++c)
      split_phases(ph + ((n - n0) * nc + c - c0) * 4 * L, img + (n * C + c) * 4 * L, OH, OW);
  return ph;
}

// panel (kc, kNB): column-matrix rows k0 .. k0+kc-1 (k = c*16 + tap) for the nv vectors
// whose phase-plane bases (sample n's planes, offset by the vector's first pixel q) and
// mask rows are given.
void pack_panel(float* __restrict panel, const float* const* base, const int32_t* const* mask, int nv, int64_t L,
                const Taps& tp, int64_t k0, int64_t kc) {
  for (int j = 0; j < nv; ++j)
    for (int64_t k = k0; k < k0 + kc; ++k) {
      const int64_t c = k >> 4;
      const int t = int(k & 15);
      const v16f v = loadu(base[j] + c * 4 * L + tp.off[t]);
      const v16i m = loadu(mask[j] + t * L);
      storeu(panel + (k - k0) * kNB + j * kLanes, (v16f)((v16i)v & m));
    }
}

// out rows 0 .. MR-1 of the NV vectors (at out + voff[j] + i*L) = (first ? 0 : out)
// + the tile (+ bias when given: the last panel), fetching pf on the way.
template <int MR, int NV>
void micro_kernel(float* out, int64_t L, const int64_t* voff, const float* w, int64_t ldw, const float* panel,
                  int64_t kc, bool first, const float* bias, const Prefetch& pf) {
  v16f acc[MR][NV];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[i][j] = first ? v16f{} : loadu(out + voff[j] + i * L);
  tile_fma_fetching<false, MR, NV>(acc, w, ldw, panel, kc, pf);
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) storeu(out + voff[j] + i * L, bias ? acc[i][j] + bias[i] : acc[i][j]);
}

// For a tile over kc steps of k: rows [r, r + kMR) of the matrix m (nrows, ld) from
// column c, `lines` cache lines each (none past its last row), one row every kc/kMR steps.
Prefetch tile_rows(const float* m, int64_t r, int64_t nrows, int64_t ld, int64_t c, int lines, int64_t kc) {
  if (r >= nrows) return {};
  return Prefetch{m + r * ld + c, ld, std::min<int64_t>(kMR, nrows - r), std::max<int64_t>(1, kc / kMR), lines};
}

template <int MR, int NV>
struct Plain {
  static constexpr auto fn = &micro_kernel<MR, NV>;
};
constexpr auto kMicro = table_of<Plain>(std::make_integer_sequence<int, kMR * kNV>{});

// colT (npx, kNB): the column matrix transposed, rows = pixels p0 .. p0+npx-1 (whole 16-
// pixel vectors), columns = the ncol*16 taps of channels [c0, c0+ncol) (ncol <= 4) of the
// nch channels whose phase planes ph holds, (samples from n0, nch, 4, L) as split_block
// lays them out: each channel's 16 masked tap vectors, transposed in registers.
void pack_panel_t(float* __restrict colT, const float* ph, int64_t nch, int64_t c0, const Taps& tp, int64_t n0,
                  int64_t L, int64_t p0, int64_t npx, int ncol) {
  for (int64_t v = 0; v < npx / kLanes; ++v) {
    const int64_t p = p0 + v * kLanes, n = p / L, q = p % L;
    for (int cc = 0; cc < ncol; ++cc) {
      const float* base = ph + ((n - n0) * nch + c0 + cc) * 4 * L + q;
      v16f rows[16];
#pragma GCC unroll 16
      for (int t = 0; t < 16; ++t)
        rows[t] = (v16f)((v16i)loadu(base + tp.off[t]) & loadu(tp.mask.data() + t * L + q));
      transpose16(rows);
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i)
        *reinterpret_cast<v16f*>(colT + (v * kLanes + i) * kNB + cc * kLanes) = rows[i];
    }
  }
}

}  // namespace

bool conv_k4s2_direct_applies(int64_t H, int64_t W, int64_t K, int64_t stride, int64_t pad) {
  return is_k4s2p1(H, W, K, stride, pad, H / 2, W / 2) && (H / 2) * (W / 2) % kLanes == 0;
}

namespace {
bool direct_default() {
  if (env_is("COVERGAN_CONV", "gemm")) return false;
  if (env_is("COVERGAN_CONV", "direct")) return true;
#if defined(__AVX512F__)
  return true;
#else
  return false;
#endif
}
std::atomic<bool> g_direct{direct_default()};
}  // namespace

bool conv_k4s2_direct_enabled() { return g_direct.load(std::memory_order_relaxed); }

bool conv_k4s2_direct_takes(int64_t H, int64_t W, int64_t K, int64_t stride, int64_t pad) {
  return conv_k4s2_direct_enabled() && conv_k4s2_direct_applies(H, W, K, stride, pad);
}

bool set_conv_k4s2_direct_enabled(bool on) { return g_direct.exchange(on); }

namespace {

// Where the forward's 16-pixel vectors of one block read and write.
struct FwdBlock {
  int nv;
  int64_t voff[kNV];           // output offset of each vector, channel 0
  const float* base[kNV];      // its phase planes, channel 0
  const int32_t* mask[kNV];    // its mask rows
};

// The forward of blocks [blk0, blk1), whose samples' planes ph holds from sample n0: per
// panel of kKC column rows, every block's panel is packed, then each register tile of W
// runs over all of them while its weights sit in L1.
void forward_blocks(float* out, const float* ph, int64_t n0, const float* weight, const float* bias, int64_t C,
                    int64_t L, int64_t OC, bool accumulate, const Taps& tp, int64_t nvec, int64_t blk0,
                    int64_t blk1) {
  const int64_t K = C * 16, nb = blk1 - blk0;
  float* panels = scratch<float>(2, size_t(nb * kKC * kNB));
  FwdBlock fb[kMaxFwdBlocks];
  for (int64_t b = 0; b < nb; ++b) {
    fb[b].nv = int(std::min<int64_t>(kNV, nvec - (blk0 + b) * kNV));
    for (int j = 0; j < fb[b].nv; ++j) {
      const int64_t p = ((blk0 + b) * kNV + j) * kLanes, n = p / L, q = p % L;
      fb[b].voff[j] = n * OC * L + q;
      fb[b].base[j] = ph + (n - n0) * C * 4 * L + q;
      fb[b].mask[j] = tp.mask.data() + q;
    }
  }
  for (int64_t k0 = 0; k0 < K; k0 += kKC) {
    const int64_t kc = std::min(kKC, K - k0);
    for (int64_t b = 0; b < nb; ++b) pack_panel(panels + b * kKC * kNB, fb[b].base, fb[b].mask, fb[b].nv, L, tp, k0, kc);
    const bool last = k0 + kc == K;
    for (int64_t oc0 = 0; oc0 < OC; oc0 += kMR) {
      const int mr = int(std::min<int64_t>(kMR, OC - oc0));
      for (int64_t b = 0; b < nb; ++b)
        kMicro[mr - 1][fb[b].nv - 1](out + oc0 * L, L, fb[b].voff, weight + oc0 * K + k0, K, panels + b * kKC * kNB,
                                     kc, k0 == 0 && !accumulate, last && bias ? bias + oc0 : nullptr, Prefetch{});
    }
  }
}

// out[0, n) = leaky_relu(out, slope), where slope >= 0 (the fused activation of
// conv2d_leaky_relu), run on a chunk's outputs while they are still in cache; the same
// formula and bits as the activation op (kernels/common/activations.h).
void leaky_in_place(float* out, int64_t n, float slope) {
  if (slope < 0) return;
  for (int64_t i = 0; i < n; ++i) out[i] = common::leaky_relu_fwd(out[i], slope);
}

// ---- the forward reading the phase planes in place (output rows of whole vectors) ----
//
// With each sample's phase planes in a zero border, tap (kh, kw) of an output row of whole
// vectors is one load per vector, so the tile (micro_kernel_rows, conv_k4s2_tile.h) reads
// the planes in place: no packed panels, no masks. It pays where the image has channels
// enough (D.conv2's forward at base 32, batch 64: 9.66-9.73 ms an iteration against
// 10.23-10.47 with the panels, three alternations); on the 3-channel images it lost
// (D.conv1: 3.19-3.21 against 2.97-3.08), and at the paper's width it is even.

// wp (tile, K, kMR) = W (OC, K) by tiles of kMR output channels, a step's weights side by
// side (zero past the last channel).
void pack_w_tiles(float* wp, const float* W, int64_t OC, int64_t K) {
  for (int64_t ct = 0; ct < (OC + kMR - 1) / kMR; ++ct)
    for (int64_t k = 0; k < K; ++k)
      for (int i = 0; i < kMR; ++i) {
        const int64_t oc = ct * kMR + i;
        wp[(ct * K + k) * kMR + i] = oc < OC ? W[oc * K + k] : 0.0f;
      }
}

template <int MR, int NV>
struct Rows16 {
  static constexpr auto fn = &micro_kernel_rows<16, false, MR, NV>;
};
constexpr auto kMicroRows = table_of<Rows16>(std::make_integer_sequence<int, kMR * kNV>{});

// Samples [n0, n1) of the forward: each sample's planes split, then every tile of kMR
// output channels over every block of 4 vectors (the tile's weights stay in L1).
void forward_rows(float* out, const float* inp, const float* wp, const float* bias, int64_t C, int64_t OC,
                  int64_t OH, int64_t OW, int64_t n0, int64_t n1, bool accumulate, float leaky) {
  const PaddedGrid g(OH, OW);
  const int64_t L = OH * OW, K = C * 16, nvec = L / kLanes, per_row = OW / kLanes, tiles = (OC + kMR - 1) / kMR;
  float* ph = scratch<float>(0, size_t(g.sample(4 * C)));
  const std::array<int64_t, 16> toff = tap_offsets(g);
  for (int64_t n = n0; n < n1; ++n) {
    split_padded(ph, inp + n * C * 4 * L, C, g);
    for (int64_t ct = 0; ct < tiles; ++ct) {
      const int mr = int(std::min<int64_t>(kMR, OC - ct * kMR));
      for (int64_t v0 = 0; v0 < nvec; v0 += kNV) {
        const int nv = int(std::min<int64_t>(kNV, nvec - v0));
        int64_t voff[kNV], yoff[kNV];
        for (int j = 0; j < nv; ++j) {
          const int64_t i = (v0 + j) / per_row, j0 = (v0 + j) % per_row * kLanes;
          voff[j] = i * OW + j0;
          yoff[j] = g.at(i, j0);
        }
        kMicroRows[mr - 1][nv - 1](out + (n * OC + ct * kMR) * L, L, voff, wp + ct * K * kMR, ph, 4 * g.plane, yoff,
                                   toff.data(), nullptr, C, accumulate, bias ? bias + ct * kMR : nullptr);
      }
    }
    leaky_in_place(out + n * OC * L, OC * L, leaky);
  }
}

// Samples [n0, n1) of the forward of an image with few channels (K = C*16 <= kKC): read
// in place it lost, since every tile of W reloads the same shifted, line-splitting vectors.
// Here each block's panel (K, kNB) is copied once from the bordered planes (one unmasked
// load per row and vector, where pack_panel masks each and looks up its tap) and every tile
// of W runs on it: the same sums in the same order as forward_blocks with one panel.
void forward_rows_packed(float* out, const float* inp, const float* weight, const float* bias, int64_t C,
                         int64_t OC, int64_t OH, int64_t OW, int64_t n0, int64_t n1, bool accumulate, float leaky) {
  const PaddedGrid g(OH, OW);
  const int64_t L = OH * OW, K = C * 16, nvec = L / kLanes, per_row = OW / kLanes;
  float* ph = scratch<float>(0, size_t(g.sample(4 * C)));
  float* panel = scratch<float>(2, size_t(K * kNB));
  const std::array<int64_t, 16> toff = tap_offsets(g);
  for (int64_t n = n0; n < n1; ++n) {
    split_padded(ph, inp + n * C * 4 * L, C, g);
    for (int64_t v0 = 0; v0 < nvec; v0 += kNV) {
      const int nv = int(std::min<int64_t>(kNV, nvec - v0));
      int64_t voff[kNV];
      for (int j = 0; j < nv; ++j) {
        const int64_t i = (v0 + j) / per_row, j0 = (v0 + j) % per_row * kLanes;
        voff[j] = n * OC * L + i * OW + j0;
        const float* src = ph + g.at(i, j0);
        for (int64_t c = 0; c < C; ++c, src += 4 * g.plane)
#pragma GCC unroll 16
          for (int t = 0; t < 16; ++t) storeu(panel + (c * 16 + t) * kNB + j * kLanes, loadu(src + toff[t]));
      }
      for (int64_t oc0 = 0; oc0 < OC; oc0 += kMR) {
        const int mr = int(std::min<int64_t>(kMR, OC - oc0));
        kMicro[mr - 1][nv - 1](out + oc0 * L, L, voff, weight + oc0 * K, K, panel, K, !accumulate,
                               bias ? bias + oc0 : nullptr, Prefetch{});
      }
    }
    leaky_in_place(out + n * OC * L, OC * L, leaky);
  }
}

// COVERGAN_CONV_FWD=panel keeps every forward on the packed panels (A/B).
bool forward_in_place() {
  static const bool on = !env_is("COVERGAN_CONV_FWD", "panel");
  return on;
}

}  // namespace

void conv2d_forward_k4s2_direct(float* out, const float* inp, const float* weight, const float* bias, int64_t N,
                                int64_t C, int64_t H, int64_t W, int64_t OC, bool accumulate, float leaky) {
  NVTX_RANGE_FN();
  CG_CHECK(leaky < 0 || !accumulate, "conv2d_forward_k4s2_direct: a fused activation needs accumulate false");
  const int64_t OH = H / 2, OW = W / 2, L = OH * OW, K = C * 16, nvec = N * L / kLanes;
  prof::add_work(2.0 * double(N * OC * K * L), 4.0 * double(N * C * H * W + OC * K + N * OC * L * (accumulate ? 2 : 1)));
  if (OW % kLanes == 0 && OC >= kMR && C >= kMR && forward_in_place()) {
    float* wp = scratch<float>(1, size_t((OC + kMR - 1) / kMR * K * kMR));
    pack_w_tiles(wp, weight, OC, K);
    parallel_for("conv2d_forward_k4s2_direct", N, 1, [&](int64_t n0, int64_t n1) {
      forward_rows(out, inp, wp, bias, C, OC, OH, OW, n0, n1, accumulate, leaky);
    });
    return;
  }
  if (OW % kLanes == 0 && K <= kKC && forward_in_place()) {
    parallel_for("conv2d_forward_k4s2_direct", N, 1, [&](int64_t n0, int64_t n1) {
      forward_rows_packed(out, inp, weight, bias, C, OC, OH, OW, n0, n1, accumulate, leaky);
    });
    return;
  }
  const Taps tp = make_taps(OH, OW);
  const int64_t blocks = (nvec + kNV - 1) / kNV;
  // Units of whole groups of g samples (a block never straddles two groups), whose planes
  // a unit splits before it packs. A unit is one group; where the weights outweigh L2 and
  // there are few blocks (D.conv4 at the paper's width, batch 16: 32 MiB of W, 4 blocks),
  // a unit takes a thread's share of the groups, up to kMaxFwdBlocks blocks, so W streams
  // once per unit rather than once per block. The sums run in the same order either way.
  const int64_t g = kNB / std::gcd(L, int64_t(kNB)), per_group = g * L / kNB;
  const int64_t T = compute_threads(), groups = (blocks + per_group - 1) / per_group;
  int64_t gpu = 1;  // groups per unit
  if (OC * K * 4 > (int64_t(4) << 20) && blocks <= 4 * T)
    gpu = std::clamp<int64_t>(groups / T, 1, std::max<int64_t>(1, kMaxFwdBlocks / per_group));
  const int64_t units = (groups + gpu - 1) / gpu;
  parallel_for("conv2d_forward_k4s2_direct", units, 1, [&](int64_t u0, int64_t u1) {
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t n0 = u * gpu * g, n1 = std::min(N, n0 + gpu * g);
      const float* ph = split_block(inp, C, n0, n1, 0, C, OH, OW);
      const int64_t last = std::min(blocks, (u + 1) * gpu * per_group), step = gpu > 1 ? kMaxFwdBlocks : 1;
      for (int64_t b = u * gpu * per_group; b < last; b += step)
        forward_blocks(out, ph, n0, weight, bias, C, L, OC, accumulate, tp, nvec, b, std::min(last, b + step));
      // every block of samples [n0, n1) is this unit's (units are whole groups of samples)
      leaky_in_place(out + n0 * OC * L, (n1 - n0) * OC * L, leaky);
    }
  });
}

const float* leaky_grad_copy(const float* Y, const float* act, float slope, int64_t n) {
  float* dz = scratch<float>(4, size_t(n));
  leaky_relu_grad_pass(dz, Y, act, n, slope);
  return dz;
}

void weight_grad_k4s2_direct(float* dweight, const float* Y, const float* img, int64_t N, int64_t R, int64_t C,
                             int64_t OH, int64_t OW, const float* act, float slope, float* dbias) {
  // Y transposed (conv_k4s2_wgrad_t.cpp) is a kernel of its own in profiles and traces:
  // its own range, its own FLOPs.
  if (weight_grad_k4s2_t_applies(R, C, OH, OW))
    return weight_grad_k4s2_t(dweight, Y, img, N, R, C, OH, OW, act, slope, dbias);
  NVTX_RANGE_FN();
  CG_CHECK(!dbias, "weight_grad_k4s2_direct: only the Y-transposed path sums the bias gradient");
  if (act) Y = leaky_grad_copy(Y, act, slope, N * R * OH * OW);
  const int64_t L = OH * OW, K = C * 16, P = N * L;
  prof::add_work(2.0 * double(R * K * P), 4.0 * double(R * P + N * C * 4 * L + 2 * R * K));
  const Taps tp = make_taps(OH, OW);
  const int64_t kblocks = (C + 3) / 4;  // 64 columns of dW (4 channels) per block
  const int64_t voff[kNV] = {0, kLanes, 2 * kLanes, 3 * kLanes};
  constexpr int64_t kPC = 256;  // pixels per panel: (256, 64) floats = 64 KiB
  // Work units own whole column blocks of dW, so no two write one entry, or (by_pixels)
  // a range of the pixels and a zeroed copy of dW, the copies summed in order at the end.
  // By column blocks every unit reads all of Y, from memory: at D.conv2's shape (base 32,
  // batch 64: 8 blocks, 4 MiB of Y) 4.1 ms a call with the caches flushed, 3.4 warm. By
  // pixels each unit reads its share of Y once, and its panel of Y stays in L2 while every
  // block of dW runs on it (3.5 ms flushed); that needs panels enough and copies of dW
  // small enough. D.conv2 itself now takes the Y-transposed kernel above; by pixels serves
  // the shapes that one leaves (Y's channels not in 16s, narrower rows in larger batches).
  // The split follows the shapes, never the thread count, so the result is the same bits
  // on any number of threads.
  constexpr int64_t kMinUnits = 8;
  const int64_t panels = std::max<int64_t>(1, P / kPC);
  const bool by_pixels = panels >= 4 * kMinUnits && kMinUnits * R * K * 4 <= (int64_t(4) << 20);
  const int64_t splits = by_pixels ? kMinUnits
                         : kblocks >= kMinUnits ? 1
                                                : std::min(panels, (kMinUnits + kblocks - 1) / kblocks);
  float* part = splits > 1 ? scratch<float>(3, size_t(splits * R * K)) : nullptr;
  if (part) std::fill(part, part + splits * R * K, 0.0f);
  const int64_t units = by_pixels ? splits : kblocks * splits, vecs = P / kLanes;
  const auto first_pixel = [&](int64_t s) { return vecs * s / splits * kLanes; };
  // The tile's rows of Y are read in place, (N, R, L), where every panel lies inside one
  // sample; otherwise from a copy with the samples side by side, (R, P).
  bool in_place = L % kPC == 0;
  for (int64_t s = 0; s < splits; ++s) in_place = in_place && first_pixel(s) % kPC == 0;
  float* yc = in_place ? nullptr : scratch<float>(1, size_t(R * P));
  if (yc) pack_batch(yc, Y, N, R, L);
  parallel_for("weight_grad_k4s2_direct", units, 1, [&](int64_t w0, int64_t w1) {
    float* colT = scratch<float>(2, size_t(kPC * kNB));
    for (int64_t unit = w0; unit < w1; ++unit) {
      const int64_t kb0 = by_pixels ? 0 : unit / splits, kb1 = by_pixels ? kblocks : kb0 + 1;
      const int64_t s = by_pixels ? unit : unit % splits;
      // by_pixels: every channel's planes; else those of block kb0's channels
      const int64_t c_lo = by_pixels ? 0 : kb0 * 4, c_hi = by_pixels ? C : std::min(C, c_lo + 4);
      float* dw = part ? part + s * R * K : dweight;
      const int64_t pbeg = first_pixel(s), pend = first_pixel(s + 1);
      int64_t have0 = -1, have1 = -1;  // the samples whose planes ph holds
      const float* ph = nullptr;
      for (int64_t p0 = pbeg; p0 < pend; p0 += kPC) {
        const int64_t npx = std::min(kPC, pend - p0), n0 = p0 / L, n1 = (p0 + npx - 1) / L + 1;
        if (n0 != have0 || n1 != have1)
          ph = split_block(img, C, n0, n1, c_lo, c_hi, OH, OW), have0 = n0, have1 = n1;
        const float* y = yc ? yc + p0 : Y + n0 * R * L + (p0 - n0 * L);  // row 0 of the panel's pixels
        const int64_t ldy = yc ? P : L;
        for (int64_t kb = kb0; kb < kb1; ++kb) {
          const int ncol = int(std::min<int64_t>(4, C - kb * 4));
          pack_panel_t(colT, ph, c_hi - c_lo, kb * 4 - c_lo, tp, n0, L, p0, npx, ncol);
          // Each tile adds onto 6 rows of dW 32 KiB apart at the deep layers (which no
          // prefetcher guesses), so it asks for the next tile's rows while it computes: D.conv4's
          // weight gradient at the paper's width, batch 16, 13.9 against 12.5 ms alone. (The
          // forward's next rows of W, asked for the same way, made it slower: 12.8 against 12.4.)
          for (int64_t r0 = 0; r0 < R; r0 += kMR) {
            const int mr = int(std::min<int64_t>(kMR, R - r0));
            kMicro[mr - 1][ncol - 1](dw + r0 * K + kb * 64, K, voff, y + r0 * ldy, ldy, colT, npx, false, nullptr,
                                     tile_rows(dw, r0 + kMR, R, K, kb * 64, ncol, npx));
          }
        }
      }
    }
  });
  if (part)
    for (int64_t s = 0; s < splits; ++s)
      for (int64_t i = 0; i < R * K; ++i) dweight[i] += part[s * R * K + i];
}

}  // namespace cg::cpu
