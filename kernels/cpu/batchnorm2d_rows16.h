// The batch norm's per-row sums on 4x4 planes (rows of 16 floats), 16 channels at once:
// the same bits as batchnorm2d_rows.h's row_sum<16>, row_sq_dev<16> and row_sums<S, 16>
// of each of the 16 rows (tests/layers/test_batchnorm_rows16.cpp checks bit for bit).
#pragma once
#include <cstdint>
#include <cstring>

#include "kernels/cpu/batchnorm2d_rows.h"
#include "kernels/cpu/simd16.h"

namespace cg::cpu::bn_rows {

// Why: built without reassociation, GCC ends each row loop by adding the row's 16 lanes one
// after another into one scalar (0 + lane 0 + lane 1 ...), a chain of 16 dependent adds per
// 16-value row that left the 4x4 batch norms (D.bn4, G.bn0) at a quarter of the bandwidth
// the larger planes get. Sixteen rows (16 channels of one sample, contiguous) transposed in
// registers give one vector per position; adding those vectors in order adds every row's
// values in the same order, for 16 rows at a time.
using simd16::v16f;
using v8d = double __attribute__((vector_size(64)));
using v8f = float __attribute__((vector_size(32)));

// rows[t] = value t of each of the 16 rows of 16 floats at p (the rows back to back).
inline void load_columns16(v16f* rows, const float* p) {
#pragma GCC unroll 16
  for (int t = 0; t < 16; ++t) rows[t] = simd16::loadu(p + t * 16);
  simd16::transpose16(rows);
}

// The two halves of v in double (exact).
inline v8d lo_double(v16f v) {
  v8f h;
  std::memcpy(&h, &v, sizeof h);
  return __builtin_convertvector(h, v8d);
}
inline v8d hi_double(v16f v) {
  v8f h;
  std::memcpy(&h, reinterpret_cast<const char*>(&v) + sizeof h, sizeof h);
  return __builtin_convertvector(h, v8d);
}

// acc[0, 8) += lo, acc[8, 16) += hi, element by element.
inline void add_halves(double* acc, v8d lo, v8d hi) {
  v8d a, b;
  std::memcpy(&a, acc, sizeof a), std::memcpy(&b, acc + 8, sizeof b);
  a += lo, b += hi;
  std::memcpy(acc, &a, sizeof a), std::memcpy(acc + 8, &b, sizeof b);
}

// acc[0, 16) += the 16 values of v in double, as `acc[i] += double(row sum)` does.
inline void add_double16(double* acc, v16f v) { add_halves(acc, lo_double(v), hi_double(v)); }

// sum[i] += row_sum<16>(x + 16 i) for i < 16.
inline void sums16(double* sum, const float* x) {
  v16f r[16];
  load_columns16(r, x);
  v16f s{};
#pragma GCC unroll 16
  for (int t = 0; t < 16; ++t) s += r[t];
  add_double16(sum, s);
}

// sq[i] += row_sq_dev<16>(x + 16 i, mean[i]) for i < 16.
inline void sq_devs16(double* sq, const float* x, const float* mean) {
  v16f r[16];
  load_columns16(r, x);
  const v16f m = simd16::loadu(mean);
  v16f s{};
#pragma GCC unroll 16
  for (int t = 0; t < 16; ++t) s += (r[t] - m) * (r[t] - m);
  add_double16(sq, s);
}

// row_sums<S, 16>(sum_g[i], sum_gx[i], dy + 16 i, y + 16 i, x + 16 i, slope, 16, scale[i],
// shift[i]) for i < 16 (scale and shift read with Src::x only).
template <Src S>
void grad_sums16(double* sum_g, double* sum_gx, const float* dy, const float* y, const float* x, float slope,
                 const float* scale, const float* shift) {
  v16f g[16], xs[16];
#pragma GCC unroll 16
  for (int t = 0; t < 16; ++t) {
    const v16f d = simd16::loadu(dy + t * 16);
    if constexpr (S == Src::dy) g[t] = d;
    if constexpr (S == Src::y) g[t] = simd16::leaky_grad(d, simd16::loadu(y + t * 16), slope);
    if constexpr (S == Src::x)
      g[t] = simd16::leaky_grad(d, simd16::loadu(x + t * 16) * scale[t] + shift[t], slope);
  }
  simd16::transpose16(g);
  load_columns16(xs, x);
  v8d s0{}, s1{}, sx0{}, sx1{};
#pragma GCC unroll 16
  for (int t = 0; t < 16; ++t) {
    const v8d g0 = lo_double(g[t]), g1 = hi_double(g[t]);
    s0 += g0, s1 += g1;
    sx0 += g0 * lo_double(xs[t]), sx1 += g1 * hi_double(xs[t]);
  }
  add_halves(sum_g, s0, s1);
  add_halves(sum_gx, sx0, sx1);
}

}  // namespace cg::cpu::bn_rows
