// CUDA dropout against the CPU: the same (seed, offset) draws the same mask bit for bit,
// so outputs and gradients are identical, not merely close; and every op of the gradcheck
// list passes its finite-difference check on the GPU in float. One function per op row, so
// the dropout row moves into the CUDA op table unchanged.
#include "layers/dropout.h"
#include "layers/gradcheck_ops.h"
#include "support/check.h"
#include "support/skip.h"

using namespace cg;

namespace {

struct DropoutRun {
  std::vector<double> out, mask, dx;
  uint64_t offset_after = 0;
};

// x (host f32) on dev through dropout(p) at (seed, offset), backward with seed gradient dy.
DropoutRun dropout_on(Device dev, const Tensor& x_host, const Tensor& dy_host, double p, uint64_t offset) {
  Tensor x = x_host.to(dev);
  if (x.same(x_host)) x = x.clone();
  x.set_requires_grad(true);
  Philox rng(0x5eed, offset);
  Tape tape;
  const Tensor y = dropout(&tape, x, p, true, rng);
  DropoutRun r;
  r.mask = tape.records().at(0).kept("mask").to_vector();
  tape.backward(y, dy_host.to(dev));
  r.out = y.to_vector();
  r.dx = x.grad().to_vector();
  r.offset_after = rng.offset();
  return r;
}

// The dropout row: shapes of D's features at base 32 (N,128,16,16) and odd ones, p of
// the flag's range, offsets not on a block boundary.
void check_dropout_row() {
  struct Row {
    Shape shape;
    double p;
    uint64_t offset;
  };
  for (const Row& row : {Row{Shape{8, 128, 16, 16}, 0.3, 0}, Row{Shape{3, 5, 7, 9}, 0.5, 6},
                         Row{Shape{1, 1, 1, 3}, 0.1, 1}, Row{Shape{4, 1024, 4, 4}, 0.9, (1ull << 33) + 4}}) {
    INFO("dropout " << row.shape.str() << " p " << row.p << " offset " << row.offset);
    std::mt19937 gen(uint32_t(row.shape.numel()));
    const Tensor x = cgtest::random_tensor(row.shape, gen, 2.0, DType::f32),
                 dy = cgtest::random_tensor(row.shape, gen, 1.0, DType::f32);
    const DropoutRun c = dropout_on(Device::cpu, x, dy, row.p, row.offset);
    const DropoutRun g = dropout_on(Device::cuda, x, dy, row.p, row.offset);
    CHECK_CLOSE_T(g.mask, c.mask, 0, 0);
    CHECK_CLOSE_T(g.out, c.out, 0, 0);
    CHECK_CLOSE_T(g.dx, c.dx, 0, 0);
    CHECK(g.offset_after == c.offset_after);
  }
}

}  // namespace

TEST_CASE("cuda dropout is bit-identical to the CPU: mask, output, gradient, stream position") {
  CG_SKIP_WITHOUT_CUDA();
  check_dropout_row();
}

TEST_CASE("every op of the gradcheck list passes its finite-difference check on cuda in f32") {
  CG_SKIP_WITHOUT_CUDA();
  for (const OpGradcheck& e : gradcheck_ops()) {
    const OpGradcheckResult r = run_op_gradcheck(e, GradcheckTarget{DType::f32, Device::cuda}, 1);
    INFO(format_op_gradcheck(r));
    CHECK(r.ok);
  }
}
