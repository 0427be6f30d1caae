// The fully connected layer with at most 8 outputs in float (see linear_narrow.h): each
// pass reads its big operand (the features, 1 MiB at D's heads) once, in 16-float vectors,
// with every output's sum in registers. Work is split by rows of the batch (forward) or by
// columns of the features (weight gradient); the input gradient runs on one thread. Every
// value is summed in one order, whatever thread computes it.
#include "kernels/cpu/linear_narrow.h"

#include <algorithm>

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/simd16.h"

namespace cg::cpu {

namespace {

using namespace simd16;
constexpr int64_t kV = kLanes;  // floats per vector

inline float sum_lanes(v16f v) {
  float s = 0;
  for (int l = 0; l < kV; ++l) s += v[l];
  return s;
}

// out[o] (+)= dot(x, w_o) for the O outputs of one row, C a multiple of 16 up to a tail.
template <int O>
void row_dots(float* out, const float* x, const float* w, int64_t C) {
  v16f acc[O] = {};
  const int64_t Cv = C / kV * kV;
  for (int64_t k = 0; k < Cv; k += kV) {
    const v16f xv = in_register(loadu(x + k));
#pragma GCC unroll 8
    for (int o = 0; o < O; ++o) acc[o] += xv * loadu(w + o * C + k);
  }
  for (int o = 0; o < O; ++o) {
    float s = sum_lanes(acc[o]);
    for (int64_t k = Cv; k < C; ++k) s += x[k] * w[o * C + k];
    out[o] += s;
  }
}

// dx += sum_o g[o] * w_o for one row. The row's O gradients are copied out first: dx's
// stores could alias them, and GCC reloaded each one every step (slower than BLAS).
template <int O>
void row_axpys(float* __restrict dx, const float* __restrict g, const float* __restrict w, int64_t C) {
  const int64_t Cv = C / kV * kV;
  float go[O];
  for (int o = 0; o < O; ++o) go[o] = g[o];
  for (int64_t k = 0; k < Cv; k += kV) {
    v16f v = loadu(dx + k);
#pragma GCC unroll 8
    for (int o = 0; o < O; ++o) v += go[o] * loadu(w + o * C + k);
    storeu(dx + k, v);
  }
  for (int64_t k = Cv; k < C; ++k)
    for (int o = 0; o < O; ++o) dx[k] += g[o] * w[o * C + k];
}

// dW[o][k0 .. k0+32) += sum_b g[b][o] * x[b][k0 ..): two vectors of columns, all outputs.
template <int O>
void column_block(float* dw, const float* g, const float* x, int64_t B, int64_t C, int64_t OC, int64_t k0) {
  v16f acc[O][2] = {};
  for (int64_t b = 0; b < B; ++b) {
    const v16f x0 = in_register(loadu(x + b * C + k0)), x1 = in_register(loadu(x + b * C + k0 + kV));
#pragma GCC unroll 8
    for (int o = 0; o < O; ++o) {
      const float gb = g[b * OC + o];
      acc[o][0] += gb * x0;
      acc[o][1] += gb * x1;
    }
  }
  for (int o = 0; o < O; ++o) {
    storeu(dw + o * C + k0, loadu(dw + o * C + k0) + acc[o][0]);
    storeu(dw + o * C + k0 + kV, loadu(dw + o * C + k0 + kV) + acc[o][1]);
  }
}

// The O-output instance of f, O = 1 .. kNarrowMaxOut.
template <template <int> class F, class... A>
void by_outputs(int64_t OC, A&&... a) {
  switch (OC) {
    case 1: return F<1>::run(a...);
    case 2: return F<2>::run(a...);
    case 3: return F<3>::run(a...);
    case 4: return F<4>::run(a...);
    case 5: return F<5>::run(a...);
    case 6: return F<6>::run(a...);
    case 7: return F<7>::run(a...);
    default: return F<8>::run(a...);
  }
}

template <int O>
struct Dots {
  static void run(float* out, const float* x, const float* w, int64_t C) { row_dots<O>(out, x, w, C); }
};
template <int O>
struct Axpys {
  static void run(float* dx, const float* g, const float* w, int64_t C) { row_axpys<O>(dx, g, w, C); }
};
template <int O>
struct Columns {
  static void run(float* dw, const float* g, const float* x, int64_t B, int64_t C, int64_t OC, int64_t k0) {
    column_block<O>(dw, g, x, B, C, OC, k0);
  }
};

}  // namespace

void linear_forward_narrow(float* out, const float* inp, const float* weight, const float* bias, int64_t B,
                           int64_t C, int64_t OC) {
  parallel_for("linear_narrow", B, 4, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      for (int64_t o = 0; o < OC; ++o) out[b * OC + o] = bias ? bias[o] : 0.0f;
      by_outputs<Dots>(OC, out + b * OC, inp + b * C, weight, C);
    }
  });
}

// On one thread: split over the pool by rows, D.fc_cls's input gradient took 0.26-0.27 ms
// an iteration against 0.21 this way (base 32, batch 64; BLAS 0.17-0.28).
void linear_backward_data_narrow(float* dinp, const float* dout, const float* weight, int64_t B, int64_t C,
                                 int64_t OC) {
  for (int64_t b = 0; b < B; ++b) by_outputs<Axpys>(OC, dinp + b * C, dout + b * OC, weight, C);
}

void linear_backward_weight_narrow(float* dweight, const float* dout, const float* inp, int64_t B, int64_t C,
                                   int64_t OC) {
  constexpr int64_t kCols = 2 * kV;
  const int64_t blocks = C / kCols;
  parallel_for("linear_narrow", blocks, 8, [&](int64_t k0, int64_t k1) {
    for (int64_t kb = k0; kb < k1; ++kb) by_outputs<Columns>(OC, dweight, dout, inp, B, C, OC, kb * kCols);
  });
  for (int64_t k = blocks * kCols; k < C; ++k)  // the columns past the last whole block
    for (int64_t o = 0; o < OC; ++o) {
      float s = 0;
      for (int64_t b = 0; b < B; ++b) s += dout[b * OC + o] * inp[b * C + k];
      dweight[o * C + k] += s;
    }
}

}  // namespace cg::cpu
