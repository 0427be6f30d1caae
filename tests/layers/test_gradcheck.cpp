// The gradcheck list (layers/gradcheck_ops), the code `covergan gradcheck` runs: every
// entry passes in double and in float, a planted wrong backward fails naming its op and
// input, and selecting by op name takes every setting of that op.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/dispatch.h"
#include "layers/gradcheck_ops.h"
#include "layers/shape_ops.h"
#include "support/check.h"

using namespace cg;

namespace {

double g_planted_factor = 1.1;  // 1.0 removes the bug

// A test-only op, c = a * b elementwise, whose backward gets b's gradient 10 % wrong:
// the checker must fail it at input b and pass input a.
void planted_mul_backward(Record& r) {
  const Tensor &a = r.in("a"), &b = r.in("b");
  const Tensor dout = r.dout();
  const auto av = a.to_vector(), bv = b.to_vector(), dv = dout.to_vector();
  std::vector<double> da(av.size()), db(av.size());
  for (size_t i = 0; i < av.size(); ++i) {
    da[i] = dv[i] * bv[i];
    db[i] = dv[i] * av[i] * (i == 5 ? g_planted_factor : 1.0);  // the planted bug: one element of db
  }
  if (r.needs_grad("a")) r.grad_of("a").add_(Tensor::from(da, a.shape(), a.dtype(), a.device()));
  if (r.needs_grad("b")) r.grad_of("b").add_(Tensor::from(db, b.shape(), b.dtype(), b.device()));
}

Tensor planted_mul(Tape* tape, const Tensor& a, const Tensor& b) {
  const auto av = a.to_vector(), bv = b.to_vector();
  std::vector<double> c(av.size());
  for (size_t i = 0; i < av.size(); ++i) c[i] = av[i] * bv[i];
  Tensor out = Tensor::from(c, a.shape(), a.dtype(), a.device());
  TAPE_RECORD(tape, "planted_mul", planted_mul_backward, ({{"a", a}, {"b", b}}), out, ({}), ({}));
  return out;
}

GradcheckCase planted_case(Philox& rng, const GradcheckTarget& t) {
  Tensor a = Tensor::empty(Shape{3, 4}, DType::f64), b = Tensor::empty(Shape{3, 4}, DType::f64);
  rng.uniform(a, 0.5, 1.0);
  rng.uniform(b, 0.5, 1.0);
  a = a.to(t.dtype);
  b = b.to(t.dtype);
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  return {{a, b}, {"a", "b"}, [=](Tape* tape) { return planted_mul(tape, a, b); }};
}

const OpGradcheck kPlanted{"planted_mul", "test-only: db 10 % off at [5]", planted_case};

}  // namespace

TEST_CASE("every op in the gradcheck list passes in f64 on the cpu") {
  REQUIRE(gradcheck_ops().size() >= 20);
  for (uint64_t seed : {1, 2}) {
    for (const OpGradcheck& e : gradcheck_ops()) {
      const OpGradcheckResult r = run_op_gradcheck(e, GradcheckTarget{}, seed);
      INFO("seed " << seed << "\n" << format_op_gradcheck(r));
      CHECK(r.ok);
      CHECK(r.error.empty());
      CHECK(!r.result.inputs.empty());
    }
  }
}

TEST_CASE("every op in the gradcheck list passes in f32 on the cpu, at float tolerances") {
  for (const OpGradcheck& e : gradcheck_ops()) {
    const OpGradcheckResult r = run_op_gradcheck(e, GradcheckTarget{DType::f32}, 1);
    INFO(format_op_gradcheck(r));
    CHECK(r.ok);
    CHECK(r.tolerance == e.tol32);
  }
}

TEST_CASE("a planted wrong backward fails the check, naming the op and the input") {
  for (DType dt : {DType::f64, DType::f32}) {
    INFO(dtype_name(dt));
    const OpGradcheckResult r = run_op_gradcheck(kPlanted, GradcheckTarget{dt}, 1);
    const std::string text = format_op_gradcheck(r);
    INFO(text);
    CHECK_FALSE(r.ok);
    REQUIRE(r.result.inputs.size() == 2);
    CHECK(r.result.inputs[0].name == "a");
    CHECK(r.result.inputs[0].rel_err <= r.tolerance);  // a's backward is right
    CHECK(r.result.inputs[1].name == "b");
    CHECK(r.result.inputs[1].worst == 5);  // the planted element
    CHECK(r.result.inputs[1].rel_err > 5e-2);
    CHECK(text.rfind("planted_mul", 0) == 0);
    CHECK(text.find("FAILED") != std::string::npos);
    CHECK(text.find("at input b") != std::string::npos);
  }
  // run_gradchecks, the loop `covergan gradcheck` runs, counts it and names it in its summary.
  std::FILE* f = std::tmpfile();
  REQUIRE(f);
  const auto both = select_gradcheck_ops({"relu"});
  CHECK(run_gradchecks({both[0], kPlanted}, GradcheckTarget{}, 1, f) == 1);
  std::rewind(f);
  std::string report(4096, '\0');
  report.resize(std::fread(report.data(), 1, report.size(), f));
  std::fclose(f);
  INFO(report);
  CHECK(report.find("1 of 2 checks FAILED:\n  planted_mul (test-only: db 10 % off at [5]), input b\n") !=
        std::string::npos);
  // The same op with the bug removed passes: the failure is the bug, not the harness.
  g_planted_factor = 1.0;
  const OpGradcheckResult fixed = run_op_gradcheck(kPlanted, GradcheckTarget{}, 1);
  g_planted_factor = 1.1;
  INFO(format_op_gradcheck(fixed));
  CHECK(fixed.ok);
}

TEST_CASE("gradcheck ops are selected by op name, every setting of it, and an unknown name lists the known ones") {
  const auto conv = select_gradcheck_ops({"conv2d"});
  REQUIRE(conv.size() == 3);
  CHECK(std::all_of(conv.begin(), conv.end(), [](const OpGradcheck& e) { return e.op == "conv2d"; }));
  CHECK(select_gradcheck_ops({}).size() == gradcheck_ops().size());
  CHECK(select_gradcheck_ops({"relu", "dropout"}).size() == 2);
  CHECK_THROWS_WITH_AS(select_gradcheck_ops({"conv3d"}),
                       doctest::Contains("Unknown op \"conv3d\"; the ops with gradient checks are linear, conv2d, "),
                       cg::Error);
}

TEST_CASE("gradcheck reports a NaN gradient as a failure, never as a pass") {
  Tensor x = Tensor::from({1.0, 2.0}, Shape{2}, DType::f64);
  x.set_requires_grad(true);
  auto f = [&](Tape* tape) { return weighted_sum(tape, {x}, {std::nan("")}); };
  const GradcheckResult r = gradcheck(f, {x}, {"x"});
  CHECK(std::isinf(r.max_rel_err));
  CHECK(r.where().find("x (2)") == 0);
}
