// The backend-ops driver, after ggml's test-backend-ops: an OpCase (one row of the table
// in test_ops.cpp or op_rows_engine.cpp) names an op, its shapes, how to build its inputs
// and how close CUDA must come to the CPU; check_case runs it on both devices and
// compares every output, every input gradient and every input the op changed (running
// statistics).
#pragma once
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "base/precision.h"
#include "engine/tape.h"

namespace cgtest {

// How close CUDA must come to the reference (the CPU, compared in double):
//   rel_l2 = ||cuda - ref|| / ||ref|| (the square root of ggml's NMSE) at most `rel_l2`, and
//   per element |cuda - ref| <= atol + atol_of_max * max|ref| + rtol * |ref|.
// bitwise: every byte equal instead. max_ulp >= 0: floats at most that many units in the
// last place apart, and at least exact_share of them identical.
struct Tol {
  double rel_l2 = 1e-5, atol = 0, atol_of_max = 0, rtol = 0;
  bool bitwise = false;
  int max_ulp = -1;
  double exact_share = 0;
  static Tol abs(double atol, double rtol, double rel_l2 = 1e-5) { return {rel_l2, atol, 0, rtol}; }
  static Tol of_max(double atol_of_max, double rtol, double rel_l2 = 1e-5) { return {rel_l2, 0, atol_of_max, rtol}; }
  static Tol exact() { return {0, 0, 0, 0, true}; }
  static Tol ulps(int n, double exact_share) { return {0, 0, 0, 0, false, n, exact_share}; }
};

// A row's inputs, on the host: the tensors, which need a gradient, and the gradient that
// seeds the backward pass from the first output (undefined: the output is a scalar,
// seeded with 1). No input needing a gradient: no backward pass.
struct Inputs {
  std::vector<cg::Tensor> host;
  std::vector<bool> grad;
  cg::Tensor seed;
};

// The op under test on one device: its inputs are already there (a gradient asked for
// where Inputs::grad says), dev is that device. Returns the outputs to compare, on any
// device; the first is the one backward starts from.
using OpFn = std::function<std::vector<cg::Tensor>(cg::Tape*, std::vector<cg::Tensor>&, cg::Device dev)>;

struct OpCase {
  std::string op;      // as the layer or engine spells it: "conv2d", "batch_norm2d_act", "philox_bits"
  std::string shapes;  // what distinguishes this row: "x (4,3,64,64) w (128,3,4,4) stride 2 pad 1"
  std::function<Inputs()> make;  // built when the row runs, from its own seeded generator
  OpFn fn;
  std::vector<Tol> out{Tol::abs(1e-6, 1e-5)};   // per output (one entry: all), and the changed inputs
  std::vector<Tol> grad{Tol::abs(1e-6, 1e-5)};  // per input (one entry: all)
  int passes = 1;      // forward + backward passes, each adding into the same gradients
  cg::Precision precision = cg::Precision::fp32;  // the CUDA side's arithmetic (the CPU's is FP32)
  OpFn cuda_reference;  // when set, the reference is this on CUDA rather than fn on the CPU
  std::string label() const;  // "conv2d x (...) [tf32]"
};

// Runs c on the CPU (or c.cuda_reference on CUDA) and on CUDA and CHECKs every
// comparison; prints one line for the row (its worst rel_l2 and element). A CUDA error
// fails the row, not the whole table. target = cpu runs the row against itself on the
// CPU: the table's own test, on a machine without a GPU.
void check_case(const OpCase& c, cg::Device target = cg::Device::cuda);

// One tensor of the run under test against the reference's, by tol (shape and dtype first).
struct Verdict {
  bool ok = true;
  double rel_l2 = 0;
  std::string text;
};
Verdict judge(const cg::Tensor& got, const cg::Tensor& want, const Tol& tol);

// f32 values uniform in [shift - scale, shift + scale] (on the CPU).
cg::Tensor rnd(cg::Shape s, std::mt19937& rng, double scale = 1.0, double shift = 0.0);

// A row with one tolerance for all outputs and one for all gradients.
OpCase simple(const char* op, std::string shapes, std::function<Inputs()> make, OpFn fn, Tol out, Tol grad,
              int passes = 1);

// A seed that differs between shapes, so rows of one op draw different values.
inline uint32_t seed_of(const cg::Shape& s, uint32_t salt = 0) {
  return static_cast<uint32_t>(s.numel() * 2654435761u + salt);
}

// The table: every row, in the order they run (test_ops.cpp: the layers' ops;
// op_rows_engine.cpp: the engine's own kernels and the small-set recipe's ops).
std::vector<OpCase> op_table();
void add_engine_ops(std::vector<OpCase>& t);
void add_recipe_ops(std::vector<OpCase>& t);

}  // namespace cgtest
