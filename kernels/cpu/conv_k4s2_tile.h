// The register tile behind the implicit-GEMM k4s2 kernels (conv_k4s2_direct.cpp and
// conv_k4s2_col2im.cpp): 16-lane vectors, where each tap of a pixel reads in the phase
// planes, the fused multiply-add loop and the tables of its unrolled instances.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/cpu/simd16.h"

// The micro-kernel's whole point is one fused multiply-add per product; the rest of the
// CPU code keeps -ffp-contract=off (see cmake/NativeArch.cmake). Only the files that run
// this tile include this header (the k4s2 convolutions, linear_short.cpp), so the setting
// reaches no other code.
#if !defined(__clang__)
#pragma GCC optimize("fp-contract=fast")
#endif

namespace cg::cpu::k4s2 {

using simd16::in_register;
using simd16::kLanes;
using simd16::leaky_grad;
using simd16::loadu;
using simd16::storeu;
using simd16::v16f;
using simd16::v16i;

constexpr int kMR = 6;              // output channels per register tile
constexpr int kNV = 4;              // 16-pixel vectors per register tile: 24 accumulators
constexpr int kNB = kLanes * kNV;   // pixels per block (a panel row)
constexpr int kPhase[4] = {1, 0, 1, 0};   // a (or b) of tap kh (or kw)
constexpr int kShift[4] = {-1, 0, 0, 1};  // di (or dj) of tap kh (or kw)

// Whether the environment variable `name` reads `value`: the kernels' A/B switches.
inline bool env_is(const char* name, const char* value) {
  const char* v = std::getenv(name);
  return v && std::strcmp(v, value) == 0;
}

// A grid of planes, each (OH, OW) inside a zero border, one after another `plane` floats
// apart: each shifted read of a 16-pixel vector is then one load. Rows of whole vectors
// (OW a multiple of 16) have a border on every side and need no masks; narrower rows
// (a vector holds several) have rows of zeros above and below only, and a read shifted
// sideways must mask the lanes that wrap into the next row (masked). A masked sideways
// read starts up to 1 float before its plane: a buffer of planes keeps `lead` floats
// before the first and after the last.
struct PaddedGrid {
  int64_t OH, OW, ld, plane;
  bool masked;
  PaddedGrid(int64_t oh, int64_t ow) : OH(oh), OW(ow), masked(ow % kLanes != 0) {
    ld = masked ? ow : ow + 2;
    plane = (oh + 2) * ld;
  }
  static constexpr int64_t lead = kLanes;
  int64_t sample(int64_t M) const { return M * plane; }  // M planes
  // The offset of pixel (i, j)'s value from the plane's start.
  int64_t at(int64_t i, int64_t j) const { return (i + 1) * ld + j + (masked ? 0 : 1); }
};

// Per tap t = kh*4+kw: where it reads and which pixels see the image.
struct Taps {
  int64_t off[16];            // phase plane * L + shift: where tap t of pixel q reads, from q
  std::vector<int32_t> mask;  // (16, L): all ones where tap t of pixel q is inside the image
};

inline Taps make_taps(int64_t OH, int64_t OW) {
  const int64_t L = OH * OW;
  Taps tp;
  tp.mask.assign(size_t(16 * L), 0);
  for (int kh = 0; kh < 4; ++kh)
    for (int kw = 0; kw < 4; ++kw) {
      const int t = kh * 4 + kw;
      tp.off[t] = (kPhase[kh] * 2 + kPhase[kw]) * L + kShift[kh] * OW + kShift[kw];
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          const int64_t ih = 2 * oh + kh - 1, iw = 2 * ow + kw - 1;
          const bool in = ih >= 0 && ih < 2 * OH && iw >= 0 && iw < 2 * OW;
          tp.mask[size_t(t * L + oh * OW + ow)] = in ? -1 : 0;
        }
    }
  return tp;
}

// acc (MR, NV vectors) += W rows (MR, kc) @ panel (kc, NV*16): the register tile's FMAs.
// Row i of W is w + i*ldw, contiguous; with TransW, W is stored transposed, (kc, MR) at
// stride ldw.
template <bool TransW, int MR, int NV>
inline void tile_fma(v16f (&acc)[MR][NV], const float* w, int64_t ldw, const float* panel, int64_t kc) {
  for (int64_t k = 0; k < kc; ++k) {
    v16f b[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) b[j] = *reinterpret_cast<const v16f*>(panel + k * kNB + j * kLanes);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const float a = TransW ? w[k * ldw + i] : w[i * ldw + k];
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[i][j] += a * b[j];
    }
  }
}

// Lines that a tile asks the memory for while it computes, for the data the next tile
// will read from where no hardware prefetcher guesses it (rows 32 KiB apart at the deep
// layers): `rows` rows from p at stride `stride`, `lines` cache lines each, one row
// every `every` steps of k.
struct Prefetch {
  const float* p = nullptr;
  int64_t stride = 0, rows = 0, every = 1;
  int lines = 0;
};

// tile_fma, asking for pf's lines on the way.
template <bool TransW, int MR, int NV>
inline void tile_fma_fetching(v16f (&acc)[MR][NV], const float* w, int64_t ldw, const float* panel, int64_t kc,
                              const Prefetch& pf) {
  if (!pf.p) {
    tile_fma<TransW, MR, NV>(acc, w, ldw, panel, kc);
    return;
  }
  for (int64_t k = 0, r = 0; k < kc; k += pf.every, ++r) {
    if (r < pf.rows)
      for (int l = 0; l < pf.lines; ++l) __builtin_prefetch(pf.p + r * pf.stride + l * kLanes);
    tile_fma<TransW, MR, NV>(acc, TransW ? w + k * ldw : w + k, ldw, panel + k * kNB, std::min(pf.every, kc - k));
  }
}

// One tap of micro_kernel_rows: acc += wq[i] * the NV vectors at yq + yoff[j] (masked).
template <bool Masked, int MR, int NV>
__attribute__((always_inline)) inline void tap_fma(v16f (&acc)[MR][NV], const float* yq, const int64_t* yoff,
                                                   const int32_t* mask_q, const float* wq) {
  v16f x[NV];
#pragma GCC unroll 4
  for (int j = 0; j < NV; ++j) {
    x[j] = loadu(yq + yoff[j]);
    if constexpr (Masked) x[j] = (v16f)((v16i)x[j] & loadu(mask_q));
    x[j] = in_register(x[j]);
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[i][j] += wq[i] * x[j];
}

// The tile that reads its vectors in place, from planes with a zero border (no packing):
// out[i] (cstride apart) at voff[j] = (add ? out : 0) + bias[i] (when given) + the sum
// over m < M and taps q < T of w[(m*T + q)*kMR + i] * y[m*plane + yoff[j] + toff[q]],
// each loaded vector first masked by mask + q*16 where Masked (rows narrower than a
// vector, whose shifted loads wrap into the next row).
template <int T, bool Masked, int MR, int NV>
void micro_kernel_rows(float* out, int64_t cstride, const int64_t* voff, const float* w, const float* y,
                       int64_t plane, const int64_t* yoff, const int64_t* toff, const int32_t* mask, int64_t M,
                       bool add, const float* bias) {
  v16f acc[MR][NV] = {};
  for (int64_t m = 0; m < M; ++m) {
    const float* ym = y + m * plane;
    const float* wm = w + m * T * kMR;
    // With the forward's 16 taps unrolled GCC keeps a pointer for every tap and vector,
    // 64, most of them on the stack, and each load first loads its address. Rolled, one
    // pointer per tap and the vectors' offsets stay in registers: D.conv2's forward (base
    // 32, batch 64) 3.08 against 3.38 ms alone, 9.14-9.20 against 9.66-10.52 an iteration
    // in the profile, the same bits. col2im's 4-tap phases stay unrolled: rolled, the
    // masked ones (8x8 grids) were slower, D.conv3's input gradient 10.06-10.30 against
    // 9.44-10.16 ms.
    if constexpr (T <= 4) {
#pragma GCC unroll 4
      for (int q = 0; q < T; ++q)
        tap_fma<Masked, MR, NV>(acc, ym + toff[q], yoff, Masked ? mask + q * kLanes : nullptr, wm + q * kMR);
    } else {
#pragma GCC unroll 1
      for (int q = 0; q < T; ++q)
        tap_fma<Masked, MR, NV>(acc, ym + toff[q], yoff, Masked ? mask + q * kLanes : nullptr, wm + q * kMR);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      float* dst = out + i * cstride + voff[j];
      const v16f v = bias ? acc[i][j] + bias[i] : acc[i][j];
      storeu(dst, add ? loadu(dst) + v : v);
    }
}

// The kernels as tables [mr-1][nv-1]: the tails (fewer rows or vectors than a full tile)
// get their own unrolled instances. Kern<MR, NV>::fn names one instance.
template <template <int, int> class Kern, int... I>
constexpr auto table_of(std::integer_sequence<int, I...>) {
  std::array<std::array<std::remove_const_t<decltype(Kern<1, 1>::fn)>, kNV>, kMR> t{};
  ((t[I / kNV][I % kNV] = Kern<I / kNV + 1, I % kNV + 1>::fn), ...);
  return t;
}

}  // namespace cg::cpu::k4s2
