// The synchronised batch norm (--sync-bn, layers/batchnorm2d_sync.h) over a world of one
// rank: the same bits as the plain batch norm (forward, running statistics, every
// gradient; float and double; with and without the fused activation; with a fresh and an
// accumulating input gradient), gradients against finite differences, and the phase
// kernels summing a batch split in two to what they give for the whole batch.
#include <cmath>

#include "engine/comm.h"
#include "kernels/cpu/batchnorm2d_sync.h"
#include "layers/batchnorm2d.h"
#include "layers/batchnorm2d_sync.h"
#include "support/check.h"

using namespace cg;

namespace {

struct Inputs {
  Tensor x, g, b, rm, rv, dy;
};

Inputs make_inputs(const Shape& s, DType dt, uint32_t seed) {
  std::mt19937 rng(seed);
  const int64_t C = s[1];
  Inputs in;
  in.x = cgtest::random_tensor(s, rng, 2.0, dt);
  in.g = cgtest::random_tensor(Shape{C}, rng, 1.0, dt);
  in.b = cgtest::random_tensor(Shape{C}, rng, 1.0, dt);
  in.rm = cgtest::random_tensor(Shape{C}, rng, 0.5, dt);
  in.rv = Tensor::full(Shape{C}, 0.8, dt);
  in.dy = cgtest::random_tensor(s, rng, 1.0, dt);
  return in;
}

struct Result {
  std::vector<double> out, dx, dg, db, rm, rv;
};

// One forward and backward on fresh copies; sync: inside a SyncBatchNormScope. twice: a
// second input-gradient contribution (x used twice), so the backward also accumulates.
Result run(const Inputs& shared, bool sync, double slope, bool twice = false) {
  Inputs in = shared;
  for (Tensor* t : {&in.x, &in.g, &in.b}) {
    *t = t->clone();
    t->set_requires_grad(true);
  }
  Tensor rm = in.rm.clone(), rv = in.rv.clone();
  SyncBatchNormScope scope(sync ? &Comm::world() : nullptr);
  Tape tape;
  Tensor out = batch_norm2d_act(&tape, in.x, in.g, in.b, rm, rv, true, 0.1, 1e-5, slope);
  tape.backward(out, in.dy);
  if (twice) {
    Tape again;
    const Tensor o2 = batch_norm2d_act(&again, in.x, in.g, in.b, Tensor(), Tensor(), true, 0.1, 1e-5, slope);
    again.backward(o2, in.dy);
  }
  return {out.to_vector(), in.x.grad().to_vector(), in.g.grad().to_vector(), in.b.grad().to_vector(),
          rm.to_vector(), rv.to_vector()};
}

void check_identical(const Result& a, const Result& b) {
  CHECK(a.out == b.out);
  CHECK(a.dx == b.dx);
  CHECK(a.dg == b.dg);
  CHECK(a.db == b.db);
  CHECK(a.rm == b.rm);
  CHECK(a.rv == b.rv);
}

}  // namespace

TEST_CASE("sync batch norm over one rank gives the plain batch norm's bits") {
  for (DType dt : {DType::f32, DType::f64})
    for (double slope : {1.0, 0.2, 0.0})
      for (bool twice : {false, true}) {
        CAPTURE(dtype_name(dt));
        CAPTURE(slope);
        CAPTURE(twice);
        const Inputs in = make_inputs(Shape{5, 7, 6, 5}, dt, 11);
        check_identical(run(in, true, slope, twice), run(in, false, slope, twice));
      }
}

TEST_CASE("sync batch norm gives the plain one's bits at the model's plane sizes, whose row loops are compiled "
          "for their length") {
  // 4x4 .. 32x32 take the row loops specialised in batchnorm2d_rows.h; both kernels must
  // pick the same ones.
  for (int64_t side : {4, 8, 16, 32})
    for (double slope : {1.0, 0.2}) {
      CAPTURE(side);
      CAPTURE(slope);
      const Inputs in = make_inputs(Shape{3, 5, side, side}, DType::f32, 13);
      check_identical(run(in, true, slope, true), run(in, false, slope, true));
    }
  // 4x4 with channels enough for the plain kernel's 16-channels-at-once sums
  // (batchnorm2d_rows16.h): two groups of 16 and 5 channels left to the row loops.
  for (double slope : {1.0, 0.2}) {
    CAPTURE(slope);
    const Inputs in = make_inputs(Shape{5, 37, 4, 4}, DType::f32, 17);
    check_identical(run(in, true, slope, true), run(in, false, slope, true));
  }
}

TEST_CASE("sync batch norm records its own op and needs its scope for the backward") {
  const Inputs in = make_inputs(Shape{4, 3, 2, 2}, DType::f64, 3);
  Tensor x = in.x.clone();
  x.set_requires_grad(true);
  Tape tape;
  Tensor out;
  {
    SyncBatchNormScope scope(&Comm::world());
    out = batch_norm2d(&tape, x, in.g, in.b, in.rm.clone(), in.rv.clone(), true);
  }
  REQUIRE(tape.size() == 1);
  CHECK(std::string(tape.records()[0].op) == "batch_norm2d_sync");
  CHECK_THROWS_WITH_AS(tape.backward(out, in.dy), doctest::Contains("outside its SyncBatchNormScope"), Error);
  // Outside a scope, eval mode and sampling mode: the plain op.
  Tape plain;
  (void)batch_norm2d(&plain, x, in.g, in.b, in.rm.clone(), in.rv.clone(), true);
  CHECK(std::string(plain.records()[0].op) == "batch_norm2d");
}

TEST_CASE("sync batch norm gradients match finite differences") {
  for (double slope : {1.0, 0.2}) {
    CAPTURE(slope);
    const Inputs in = make_inputs(Shape{3, 2, 3, 2}, DType::f64, 5);
    Tensor x = in.x.clone(), g = in.g.clone(), b = in.b.clone();
    for (Tensor* t : {&x, &g, &b}) t->set_requires_grad(true);
    SyncBatchNormScope scope(&Comm::world());
    auto f = [&](Tape* tape) { return batch_norm2d_act(tape, x, g, b, Tensor(), Tensor(), true, 0.1, 1e-5, slope); };
    CHECK_GRADCHECK(f, (std::vector<Tensor>{x, g, b}), 1e-6);
  }
}

// What two ranks would do, by hand: each rank's partial sums over its half of the batch,
// added (the all-reduce), then the phases; against the same phases over the whole batch.
TEST_CASE("sync batch norm phases over two halves of a batch give the whole batch's statistics") {
  const int64_t N = 6, C = 3, HW = 10;
  const Inputs in = make_inputs(Shape{N, C, 2, 5}, DType::f64, 9);
  const double* x = in.x.data<double>();
  std::vector<double> whole(C + 1), a(C + 1), b(C + 1);
  cpu::batch_norm2d_sync_sums(whole.data(), x, N, C, HW);
  cpu::batch_norm2d_sync_sums(a.data(), x, N / 2, C, HW);
  cpu::batch_norm2d_sync_sums(b.data(), x + N / 2 * C * HW, N / 2, C, HW);
  std::vector<double> both(C + 1);
  for (int64_t c = 0; c <= C; ++c) both[size_t(c)] = a[size_t(c)] + b[size_t(c)];
  CHECK(both[C] == double(N * HW));  // the count travels with the sums
  CHECK_CLOSE_T(both, whole, 1e-12, 1e-12);
  std::vector<double> sq_whole(C), sq_a(C), sq_b(C), sq_both(C);
  cpu::batch_norm2d_sync_sq_dev(sq_whole.data(), x, whole.data(), N, C, HW);
  cpu::batch_norm2d_sync_sq_dev(sq_a.data(), x, both.data(), N / 2, C, HW);
  cpu::batch_norm2d_sync_sq_dev(sq_b.data(), x + N / 2 * C * HW, both.data(), N / 2, C, HW);
  for (int64_t c = 0; c < C; ++c) sq_both[size_t(c)] = sq_a[size_t(c)] + sq_b[size_t(c)];
  CHECK_CLOSE_T(sq_both, sq_whole, 1e-12, 1e-12);
  // A half's own statistics are not the batch's: the synchronisation is what matters.
  std::vector<double> sq_alone(C);
  cpu::batch_norm2d_sync_sq_dev(sq_alone.data(), x, a.data(), N / 2, C, HW);
  CHECK_FALSE(cgtest::compare(sq_alone, sq_a, 1e-9, 1e-9).ok);
}

// In float a row's sum is a float and a few dozen floats add exactly in double, so
// splitting the batch between ranks does not move a bit of the forward statistics
// (docs/DISTRIBUTED.md, "Which reductions differ").
TEST_CASE("in float the sync batch norm's forward sums do not depend on the split") {
  const int64_t N = 16, C = 5, HW = 64;
  std::mt19937 rng(21);
  const Tensor xt = cgtest::random_tensor(Shape{N, C, 8, 8}, rng, 3.0, DType::f32);
  const float* x = xt.data<float>();
  std::vector<double> whole(C + 1), sq_whole(C);
  cpu::batch_norm2d_sync_sums(whole.data(), x, N, C, HW);
  cpu::batch_norm2d_sync_sq_dev(sq_whole.data(), x, whole.data(), N, C, HW);
  for (int64_t parts : {2, 4, 8}) {
    CAPTURE(parts);
    std::vector<double> sum(C + 1, 0.0), sq(C, 0.0), part(C + 1), part_sq(C);
    for (int64_t p = 0; p < parts; ++p) {
      cpu::batch_norm2d_sync_sums(part.data(), x + p * (N / parts) * C * HW, N / parts, C, HW);
      for (int64_t c = 0; c <= C; ++c) sum[size_t(c)] += part[size_t(c)];
    }
    CHECK(sum == whole);
    for (int64_t p = 0; p < parts; ++p) {
      cpu::batch_norm2d_sync_sq_dev(part_sq.data(), x + p * (N / parts) * C * HW, sum.data(), N / parts, C, HW);
      for (int64_t c = 0; c < C; ++c) sq[size_t(c)] += part_sq[size_t(c)];
    }
    CHECK(sq == sq_whole);
  }
}
