// The backend-ops driver (see op_table.h): place a row's inputs on a device, run the op
// `passes` times with a backward pass each, collect outputs, gradients and the inputs
// after the op, and compare the CUDA run with the reference tensor by tensor.
#include "cuda/op_table.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>

#include "base/precision.h"
#include "support/check.h"

using namespace cg;

namespace cgtest {

std::string OpCase::label() const { return op + " " + shapes + " [" + precision_name(precision) + "]"; }

OpCase simple(const char* op, std::string shapes, std::function<Inputs()> make, OpFn fn, Tol out, Tol grad,
              int passes) {
  OpCase c;
  c.op = op;
  c.shapes = std::move(shapes);
  c.make = std::move(make);
  c.fn = std::move(fn);
  c.out = {out};
  c.grad = {grad};
  c.passes = passes;
  return c;
}

Tensor rnd(Shape s, std::mt19937& rng, double scale, double shift) {
  Tensor t = random_tensor(s, rng, scale, DType::f32);
  if (shift != 0.0) t.add_(Tensor::full(s, shift, DType::f32));
  return t;
}

namespace {

struct Run {
  std::vector<Tensor> outs, grads, inputs_after;  // all on the CPU; grads undefined where none was asked
};

// The inputs on dev (copies: a CPU run must not change the row's own tensors), fn run
// `passes` times, each with a backward pass from the first output when a gradient is asked.
Run run_on(Device dev, const OpFn& fn, const Inputs& in, int passes) {
  std::vector<Tensor> xs;
  bool any_grad = false;
  for (size_t i = 0; i < in.host.size(); ++i) {
    Tensor t = in.host[i].defined() ? in.host[i].to(dev) : Tensor();
    if (t.defined() && t.same(in.host[i])) t = t.clone();
    if (t.defined()) t.set_requires_grad(in.grad[i]);
    any_grad = any_grad || in.grad[i];
    xs.push_back(t);
  }
  Run r;
  for (int p = 0; p < passes; ++p) {
    Tape tape;
    std::vector<Tensor> outs = fn(&tape, xs, dev);
    if (any_grad) tape.backward(outs.at(0), in.seed.defined() ? in.seed.to(dev) : Tensor());
    r.outs.clear();
    for (const Tensor& o : outs) r.outs.push_back(o.to(Device::cpu));
  }
  for (size_t i = 0; i < xs.size(); ++i) {
    if (in.grad[i]) {
      r.grads.push_back(xs[i].grad().to(Device::cpu));
    } else {
      // A frozen input gets no gradient buffer at all: the backward skipped its work.
      INFO("input " << i << " on " << device_name(dev) << " needs no gradient");
      CHECK_FALSE((xs[i].defined() && xs[i].grad().defined()));
      r.grads.emplace_back();
    }
    r.inputs_after.push_back(xs[i].defined() ? xs[i].to(Device::cpu) : Tensor());
  }
  return r;
}

int64_t ulp_distance(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  if ((ia < 0) != (ib < 0)) return a == b ? 0 : std::numeric_limits<int64_t>::max();
  return std::abs(int64_t(ia) - int64_t(ib));
}

const Tol& pick(const std::vector<Tol>& tols, size_t i) { return tols.size() == 1 ? tols[0] : tols.at(i); }

}  // namespace

Verdict judge(const Tensor& a, const Tensor& b, const Tol& tol) {
  Verdict v;
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) {
    v.ok = false;
    v.text = "got " + a.describe() + ", want " + b.describe();
    return v;
  }
  if (tol.bitwise) {
    v.ok = a.nbytes() == 0 || std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
    size_t first = 0;
    const auto *pa = static_cast<const uint8_t*>(a.raw()), *pb = static_cast<const uint8_t*>(b.raw());
    while (!v.ok && first < a.nbytes() && pa[first] == pb[first]) ++first;
    v.text = v.ok ? "bit-identical" : "differs from byte " + std::to_string(first);
    return v;
  }
  if (tol.max_ulp >= 0) {
    const float *pa = a.data<float>(), *pb = b.data<float>();
    int64_t exact = 0, worst = 0;
    for (int64_t i = 0; i < a.numel(); ++i) {
      const int64_t d = ulp_distance(pa[i], pb[i]);
      exact += d == 0;
      worst = std::max(worst, d);
    }
    const double share = a.numel() ? double(exact) / double(a.numel()) : 1.0;
    v.ok = worst <= tol.max_ulp && share >= tol.exact_share;
    v.text = "worst " + std::to_string(worst) + " ulp, " + std::to_string(share * 100) + " % exact";
    return v;
  }
  const std::vector<double> av = a.to_vector(), bv = b.to_vector();
  double amax = 0;
  for (double x : bv) amax = std::max(amax, std::fabs(x));
  const Compare e = compare(av, bv, tol.atol + tol.atol_of_max * amax, tol.rtol);
  v.rel_l2 = e.rel_l2();
  v.ok = e.ok && std::isfinite(v.rel_l2) && v.rel_l2 <= tol.rel_l2;
  char buf[96];
  std::snprintf(buf, sizeof buf, "rel_l2 %.2e (<= %.0e), ", v.rel_l2, tol.rel_l2);
  v.text = buf + e.str();
  return v;
}

void check_case(const OpCase& c, Device target) {
  INFO(c.label());
  double worst = 0;
  int failed = 0;
  std::string first_failure;
  try {
    const Inputs in = c.make();
    REQUIRE(in.grad.size() == in.host.size());
    std::optional<PrecisionScope> math;  // the CUDA side's arithmetic, restored when the row ends
    if (target == Device::cuda) math.emplace(c.precision);
    const Run ref = c.cuda_reference ? run_on(target, c.cuda_reference, in, c.passes)
                                     : run_on(Device::cpu, c.fn, in, c.passes);
    const Run got = run_on(target, c.fn, in, c.passes);
    auto check = [&](const std::string& what, const Tensor& a, const Tensor& b, const Tol& tol) {
      const Verdict v = judge(a, b, tol);
      worst = std::max(worst, v.rel_l2);
      INFO(what << ": " << v.text);
      CHECK(v.ok);
      if (!v.ok && failed++ == 0) first_failure = what + ": " + v.text;
    };
    REQUIRE(got.outs.size() == ref.outs.size());
    for (size_t i = 0; i < ref.outs.size(); ++i) check("output " + std::to_string(i), got.outs[i], ref.outs[i], pick(c.out, i));
    for (size_t i = 0; i < in.host.size(); ++i) {
      if (in.grad[i]) {
        check("gradient of input " + std::to_string(i), got.grads[i], ref.grads[i], pick(c.grad, i));
      } else if (in.host[i].defined() && in.host[i].dtype() == DType::f32) {
        check("input " + std::to_string(i) + " after the op", got.inputs_after[i], ref.inputs_after[i], c.out[0]);
      }
    }
  } catch (const std::exception& e) {
    FAIL_CHECK("threw: " << e.what());
    failed = 1;
    first_failure = std::string("threw: ") + e.what();
  }
  std::printf("  %-4s %-70s rel_l2 %.1e%s%s\n", failed ? "FAIL" : "ok", c.label().c_str(), worst,
              failed ? "  " : "", first_failure.c_str());
}

}  // namespace cgtest
