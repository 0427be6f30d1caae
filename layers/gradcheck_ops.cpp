// The gradcheck list (see gradcheck_ops.h): one small function per entry that draws its
// inputs, then the table kGradcheckOps. Shapes are small and odd where the op allows, so
// an index mix-up cannot hide behind a square; values stay clear of every kink.
#include "layers/gradcheck_ops.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "layers/activations.h"
#include "layers/batchnorm2d.h"
#include "layers/conv2d.h"
#include "layers/conv_transpose2d.h"
#include "layers/dropout.h"
#include "layers/linear.h"
#include "layers/losses.h"
#include "layers/shape_ops.h"
#include "layers/spectral_loss.h"

namespace cg {
namespace {

// Uniform(lo, hi) values drawn on the host in f64, then converted to the target.
Tensor uniform(Philox& rng, Shape s, double lo, double hi, const GradcheckTarget& t, bool grad = true) {
  Tensor h = Tensor::empty(s, DType::f64);
  rng.uniform(h, lo, hi);
  Tensor x = h.to(t.dtype).to(t.device);
  x.set_requires_grad(grad);
  return x;
}

// |values| in [lo, hi] with random signs: clear of a kink at 0 by lo.
Tensor away_from_zero(Philox& rng, Shape s, double lo, double hi, const GradcheckTarget& t) {
  Tensor h = Tensor::empty(s, DType::f64);
  rng.uniform(h, lo, hi);
  double* v = h.data<double>();
  for (int64_t i = 0; i < h.numel(); ++i)
    if (rng.next_u32() & 1) v[i] = -v[i];
  Tensor x = h.to(t.dtype).to(t.device);
  x.set_requires_grad(true);
  return x;
}

GradcheckCase unary(Tensor x, Tensor (*op)(Tape*, const Tensor&)) {
  return {{x}, {"x"}, [x, op](Tape* tape) { return op(tape, x); }};
}

// ---- linear and the convolutions --------------------------------------------

GradcheckCase linear_case(Philox& rng, const GradcheckTarget& t) {
  Tensor x = uniform(rng, Shape{3, 5}, -1, 1, t), w = uniform(rng, Shape{4, 5}, -1, 1, t),
         b = uniform(rng, Shape{4}, -1, 1, t);
  return {{x, w, b}, {"x", "w", "b"}, [=](Tape* tape) { return linear(tape, x, w, b); }};
}

GradcheckCase conv2d_with(Philox& rng, const GradcheckTarget& t, Shape xs, Shape ws, int stride, int pad,
                          int groups = 1) {
  Tensor x = uniform(rng, xs, -1, 1, t), w = uniform(rng, ws, -1, 1, t), b = uniform(rng, Shape{ws[0]}, -1, 1, t);
  return {{x, w, b}, {"x", "w", "b"}, [=](Tape* tape) { return conv2d(tape, x, w, b, stride, pad, groups); }};
}
GradcheckCase conv2d_k3(Philox& rng, const GradcheckTarget& t) {
  return conv2d_with(rng, t, Shape{2, 3, 7, 6}, Shape{4, 3, 3, 3}, 2, 1);
}
GradcheckCase conv2d_leaky_k4s2(Philox& rng, const GradcheckTarget& t) {
  // Piecewise linear: central differences are exact unless a step crosses the kink at 0, so
  // draws are repeated until every pre-activation is 0.1 or more from it (16 of them: a
  // few draws; the f32 step is 1e-2).
  Tensor x, w, b;
  for (int tries = 0; tries < 1000; ++tries) {
    x = uniform(rng, Shape{2, 3, 4, 4}, -1, 1, t), w = uniform(rng, Shape{2, 3, 4, 4}, -1, 1, t),
    b = uniform(rng, Shape{2}, -1, 1, t);
    bool clear = true;
    for (double z : conv2d(nullptr, x, w, b, 2, 1).to_vector()) clear = clear && std::abs(z) >= 0.1;
    if (clear) break;
  }
  return {{x, w, b}, {"x", "w", "b"}, [=](Tape* tape) { return conv2d_leaky_relu(tape, x, w, b, 2, 1, 0.2); }};
}
GradcheckCase conv2d_k4s2(Philox& rng, const GradcheckTarget& t) {
  return conv2d_with(rng, t, Shape{2, 3, 8, 8}, Shape{4, 3, 4, 4}, 2, 1);
}
GradcheckCase conv2d_k4s2_groups(Philox& rng, const GradcheckTarget& t) {
  return conv2d_with(rng, t, Shape{4, 3, 8, 8}, Shape{4, 3, 4, 4}, 2, 1, 2);
}

GradcheckCase conv_t_with(Philox& rng, const GradcheckTarget& t, Shape xs, Shape ws, int stride, int pad) {
  Tensor x = uniform(rng, xs, -1, 1, t), w = uniform(rng, ws, -1, 1, t), b = uniform(rng, Shape{ws[1]}, -1, 1, t);
  return {{x, w, b}, {"x", "w", "b"}, [=](Tape* tape) { return conv_transpose2d(tape, x, w, b, stride, pad); }};
}
GradcheckCase conv_t_k3(Philox& rng, const GradcheckTarget& t) {
  return conv_t_with(rng, t, Shape{2, 3, 4, 3}, Shape{3, 4, 3, 3}, 2, 1);
}
GradcheckCase conv_t_k4s2(Philox& rng, const GradcheckTarget& t) {
  return conv_t_with(rng, t, Shape{2, 3, 4, 4}, Shape{3, 2, 4, 4}, 2, 1);
}

// ---- batch norm ---------------------------------------------------------------

struct BnInputs {
  Tensor x, g, b;
};
BnInputs bn_inputs(Philox& rng, const GradcheckTarget& t) {
  return {uniform(rng, Shape{3, 2, 3, 4}, -2, 2, t), uniform(rng, Shape{2}, 0.5, 1.5, t),
          uniform(rng, Shape{2}, -1, 1, t)};
}

GradcheckCase bn_train(Philox& rng, const GradcheckTarget& t) {
  const BnInputs in = bn_inputs(rng, t);
  return {{in.x, in.g, in.b}, {"x", "gamma", "beta"}, [=](Tape* tape) {
            return batch_norm2d(tape, in.x, in.g, in.b, Tensor(), Tensor(), true, 0.1, 1e-5);
          }};
}

GradcheckCase bn_eval(Philox& rng, const GradcheckTarget& t) {
  const BnInputs in = bn_inputs(rng, t);
  const Tensor rm = uniform(rng, Shape{2}, -0.5, 0.5, t, false), rv = uniform(rng, Shape{2}, 0.5, 1.5, t, false);
  return {{in.x, in.g, in.b, rm, rv}, {"x", "gamma", "beta", "running_mean", "running_var"}, [=](Tape* tape) {
            return batch_norm2d(tape, in.x, in.g, in.b, rm, rv, false, 0.1, 1e-5);
          }};
}

// The activation's kink is at BN(x) = 0, which no draw of x controls directly: draw until
// every normalised value is clear of 0 by 20 steps (a step of h moves one by about h).
GradcheckCase bn_act_with(Philox& rng, const GradcheckTarget& t, double slope, int groups = 1) {
  for (;;) {
    BnInputs in = bn_inputs(rng, t);
    if (groups > 1) in.x = uniform(rng, Shape{3 * groups, 2, 3, 4}, -2, 2, t);
    const Tensor y = batch_norm2d_act(nullptr, in.x.to(Device::cpu).to(DType::f64), in.g.to(Device::cpu).to(DType::f64),
                                      in.b.to(Device::cpu).to(DType::f64), Tensor(), Tensor(), true, 0.1, 1e-5, 1.0,
                                      groups);
    double closest = INFINITY;
    for (double v : y.to_vector()) closest = std::min(closest, std::fabs(v));
    if (closest < 20 * t.h) continue;
    return {{in.x, in.g, in.b}, {"x", "gamma", "beta"}, [=](Tape* tape) {
              return batch_norm2d_act(tape, in.x, in.g, in.b, Tensor(), Tensor(), true, 0.1, 1e-5, slope, groups);
            }};
  }
}
GradcheckCase bn_leaky(Philox& rng, const GradcheckTarget& t) { return bn_act_with(rng, t, 0.2); }
GradcheckCase bn_leaky_groups(Philox& rng, const GradcheckTarget& t) { return bn_act_with(rng, t, 0.2, 2); }
GradcheckCase bn_relu(Philox& rng, const GradcheckTarget& t) { return bn_act_with(rng, t, 0.0); }

// ---- activations --------------------------------------------------------------

Tensor leaky02(Tape* tape, const Tensor& x) { return leaky_relu(tape, x, 0.2); }
// Kinked at 0: |x| >= 0.1, ten times the largest step.
GradcheckCase relu_case(Philox& rng, const GradcheckTarget& t) {
  return unary(away_from_zero(rng, Shape{3, 4, 5}, 0.1, 3, t), relu);
}
GradcheckCase leaky_case(Philox& rng, const GradcheckTarget& t) {
  return unary(away_from_zero(rng, Shape{3, 4, 5}, 0.1, 3, t), leaky02);
}
GradcheckCase tanh_case(Philox& rng, const GradcheckTarget& t) { return unary(uniform(rng, Shape{3, 4, 5}, -3, 3, t), cg::tanh); }
GradcheckCase sigmoid_case(Philox& rng, const GradcheckTarget& t) {
  return unary(uniform(rng, Shape{3, 4, 5}, -3, 3, t), sigmoid);
}

// ---- losses ---------------------------------------------------------------------

GradcheckCase bce_case(Philox& rng, const GradcheckTarget& t) {
  Tensor z = uniform(rng, Shape{6, 1}, -4, 4, t), y = uniform(rng, Shape{6, 1}, 0, 1, t, false);
  return {{z, y}, {"logits", "targets"}, [=](Tape* tape) { return bce_with_logits(tape, z, y); }};
}
GradcheckCase ce_case(Philox& rng, const GradcheckTarget& t) {
  Tensor z = uniform(rng, Shape{6, 5}, -4, 4, t);
  std::vector<int32_t> labels;
  for (int i = 0; i < 6; ++i) labels.push_back(int32_t(rng.next_below(5)));
  Tensor y = Tensor::from_labels(labels, t.device);
  return {{z, y}, {"logits", "labels"}, [=](Tape* tape) { return cross_entropy(tape, z, y); }};
}
GradcheckCase mse_case(Philox& rng, const GradcheckTarget& t) {
  Tensor p = uniform(rng, Shape{6, 2}, -1, 1, t), y = uniform(rng, Shape{6, 2}, -1, 1, t, false);
  return {{p, y}, {"pred", "target"}, [=](Tape* tape) { return mse(tape, p, y); }};
}
// Three images of two genres, 9 px (odd: the Nyquist bin is not its own mirror), rings 2 .. 6,
// against a target of ln powers near the images' own.
GradcheckCase spectral_case(Philox& rng, const GradcheckTarget& t) {
  Tensor x = uniform(rng, Shape{3, 3, 9, 9}, -1, 1, t);
  Tensor target = uniform(rng, Shape{2, 7}, -3, 0, t, false);
  Tensor y = Tensor::from_labels({1, 0, 1}, t.device);
  return {{x, y, target}, {"images", "labels", "target"},
          [=](Tape* tape) { return spectral_loss(tape, x, y, target, 2, 1e-3); }};
}

// ---- shape ops ------------------------------------------------------------------

GradcheckCase reshape_case(Philox& rng, const GradcheckTarget& t) {
  Tensor x = uniform(rng, Shape{2, 3, 2, 3}, -1, 1, t);
  return {{x}, {"x"}, [=](Tape* tape) { return reshape(tape, x, Shape{6, 6}); }};
}
GradcheckCase flatten_case(Philox& rng, const GradcheckTarget& t) {
  return unary(uniform(rng, Shape{2, 3, 2, 2}, -1, 1, t), flatten);
}
GradcheckCase concat_case(Philox& rng, const GradcheckTarget& t) {
  Tensor a = uniform(rng, Shape{3, 2}, -1, 1, t), b = uniform(rng, Shape{3, 5}, -1, 1, t);
  return {{a, b}, {"a", "b"}, [=](Tape* tape) { return concat(tape, {a, b, a}); }};  // a used twice
}
GradcheckCase concat_batch_case(Philox& rng, const GradcheckTarget& t) {
  Tensor a = uniform(rng, Shape{2, 3, 2, 2}, -1, 1, t), b = uniform(rng, Shape{1, 3, 2, 2}, -1, 1, t);
  return {{a, b}, {"a", "b"}, [=](Tape* tape) { return concat_batch(tape, {a, b, a}); }};  // a used twice
}
GradcheckCase slice_batch_case(Philox& rng, const GradcheckTarget& t) {
  Tensor x = uniform(rng, Shape{4, 5}, -1, 1, t);
  // Two overlapping slices summed: each slice's gradient lands in its own rows of x.
  return {{x}, {"x"}, [=](Tape* tape) {
            return weighted_sum(tape, {slice_batch(tape, x, 1, 2), slice_batch(tape, x, 2, 2)}, {1.0, -0.5});
          }};
}
GradcheckCase weighted_sum_case(Philox& rng, const GradcheckTarget& t) {
  Tensor a = uniform(rng, Shape{2, 3}, -1, 1, t), b = uniform(rng, Shape{2, 3}, -1, 1, t);
  return {{a, b}, {"a", "b"}, [=](Tape* tape) { return weighted_sum(tape, {a, b, a}, {0.5, -2.0, 1.25}); }};
}

// ---- dropout ----------------------------------------------------------------------

// Every evaluation must see the same mask, or the differences would measure two
// different functions: each call starts a new Philox at one fixed (key, offset 0).
GradcheckCase dropout_case(Philox& rng, const GradcheckTarget& t) {
  Tensor x = uniform(rng, Shape{2, 3, 4, 5}, -1, 1, t);
  const uint64_t key = uint64_t(rng.next_u32()) << 32 | rng.next_u32();
  return {{x}, {"x"}, [=](Tape* tape) {
            Philox mask_stream(key);
            return dropout(tape, x, 0.3, true, mask_stream);
          }};
}

// An op linear in each input element (linear, the convolutions, the shape ops, dropout
// with its mask fixed) or quadratic (mse) has exact central differences at any step, so
// a large one keeps the round-off (about 1e-16 |L| / h) far below the tolerance.
constexpr double kH64Exact = 1e-3, kH32Exact = 1e-1;

const std::vector<OpGradcheck> kGradcheckOps = {
    {"linear", "(3,5) x (4,5)^T + b", linear_case, kH64Exact, 1e-6, kH32Exact},
    {"conv2d", "k3 s2 p1, (2,3,7,6)", conv2d_k3, kH64Exact, 1e-6, kH32Exact},
    {"conv2d", "k4 s2 p1 as in D, (2,3,8,8)", conv2d_k4s2, kH64Exact, 1e-6, kH32Exact},
    {"conv2d", "k4 s2 p1, (4,3,8,8) as 2 groups (D's halves)", conv2d_k4s2_groups, kH64Exact, 1e-6, kH32Exact},
    {"conv2d_leaky_relu", "k4 s2 p1 + LeakyReLU 0.2 as in D.conv1, (2,3,4,4)", conv2d_leaky_k4s2},
    {"conv_transpose2d", "k3 s2 p1, (2,3,4,3)", conv_t_k3, kH64Exact, 1e-6, kH32Exact},
    {"conv_transpose2d", "k4 s2 p1 as in G, (2,3,4,4)", conv_t_k4s2, kH64Exact, 1e-6, kH32Exact},
    // BN's sums of squares lose digits to round-off at h = 1e-6; 1e-5 keeps truncation small.
    {"batch_norm2d", "training (batch statistics)", bn_train, 1e-5, 1e-5},
    {"batch_norm2d", "eval (running statistics)", bn_eval, 1e-5, 1e-5},
    {"batch_norm2d_act", "training, LeakyReLU 0.2 (D)", bn_leaky, 1e-5, 1e-5},
    {"batch_norm2d_act", "training, LeakyReLU 0.2, 2 groups (D's halves)", bn_leaky_groups, 1e-5, 1e-5},
    {"batch_norm2d_act", "training, ReLU (G)", bn_relu, 1e-5, 1e-5},
    {"relu", "|x| >= 0.1", relu_case},
    {"leaky_relu", "slope 0.2, |x| >= 0.1", leaky_case},
    {"tanh", "x in [-3,3]", tanh_case},
    {"sigmoid", "x in [-3,3]", sigmoid_case},
    {"bce_with_logits", "(6,1) logits, soft targets", bce_case},
    // A softmax of logits up to 4 has gradients near 1e-4: h = 1e-5 halves their round-off.
    {"cross_entropy", "(6,5) logits, 5 classes", ce_case, 1e-5},
    {"mse", "(6,2)", mse_case, kH64Exact, 1e-6, kH32Exact},
    // ln of a sum of squares over 1/p: h = 1e-5 and 1e-5 as for batch norm.
    {"spectral_loss", "(3,3,9,9), 2 genres, rings 2..6", spectral_case, 1e-5, 1e-5},
    {"reshape", "(2,3,2,3) -> (6,6)", reshape_case, kH64Exact, 1e-6, kH32Exact},
    {"flatten", "(2,3,2,2)", flatten_case, kH64Exact, 1e-6, kH32Exact},
    {"concat", "{a, b, a} along dim 1", concat_case, kH64Exact, 1e-6, kH32Exact},
    {"concat_batch", "{a, b, a} along the batch", concat_batch_case, kH64Exact, 1e-6, kH32Exact},
    {"slice_batch", "rows [1,3) - 0.5 rows [2,4) of (4,5)", slice_batch_case, kH64Exact, 1e-6, kH32Exact},
    {"weighted_sum", "0.5 a - 2 b + 1.25 a", weighted_sum_case, kH64Exact, 1e-6, kH32Exact},
    {"dropout", "p 0.3, training, one fixed mask", dropout_case, kH64Exact, 1e-6, kH32Exact},
};

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

}  // namespace

const std::vector<OpGradcheck>& gradcheck_ops() { return kGradcheckOps; }

std::vector<OpGradcheck> select_gradcheck_ops(const std::vector<std::string>& names) {
  if (names.empty()) return kGradcheckOps;
  std::vector<OpGradcheck> out;
  for (const std::string& n : names) {
    size_t found = 0;
    for (const OpGradcheck& e : kGradcheckOps)
      if (e.op == n) out.push_back(e), ++found;
    if (found) continue;
    std::vector<std::string> ops;
    std::string known;
    for (const OpGradcheck& e : kGradcheckOps)
      if (std::find(ops.begin(), ops.end(), e.op) == ops.end()) {
        known += (ops.empty() ? "" : ", ") + e.op;
        ops.push_back(e.op);
      }
    throw Error("Unknown op \"" + n + "\"; the ops with gradient checks are " + known + ".");
  }
  return out;
}

OpGradcheckResult run_op_gradcheck(const OpGradcheck& e, const GradcheckTarget& target, uint64_t seed) {
  OpGradcheckResult r;
  r.op = e.op;
  r.setting = e.setting;
  const bool f64 = target.dtype == DType::f64;
  r.tolerance = f64 ? e.tol64 : e.tol32;
  GradcheckTarget t = target;
  t.h = f64 ? e.h64 : e.h32;
  try {
    Philox rng(splitmix64(seed ^ fnv1a(e.op + "/" + e.setting)));
    const GradcheckCase c = e.make(rng, t);
    GradcheckOptions opt;
    opt.h = t.h;
    // In f32 the differences carry ~1e-7 |L| / h of round-off: gradients below 1 % of the
    // input's largest are judged on that scale.
    opt.floor = f64 ? 1e-3 : 1e-2;
    r.result = gradcheck(c.f, c.inputs, c.names, opt);
    r.ok = !r.result.inputs.empty() && r.result.max_rel_err <= r.tolerance;
    if (r.result.inputs.empty()) r.error = "no input needs a gradient";
  } catch (const std::exception& ex) {
    r.error = ex.what();
    r.ok = false;
  }
  return r;
}

std::string format_op_gradcheck(const OpGradcheckResult& r) {
  std::ostringstream os;
  char head[256];
  char title[128];
  std::snprintf(title, sizeof title, "%-17s %-32s", r.op.c_str(), r.setting.c_str());
  if (!r.error.empty()) {
    os << title << " FAILED: " << r.error << "\n";
    return os.str();
  }
  const std::string& worst = r.result.inputs[size_t(r.result.worst_input)].name;
  std::snprintf(head, sizeof head, "%s %s  worst rel err %.1e %s tolerance %.0e%s%s\n", title,
                r.ok ? "ok    " : "FAILED", r.result.max_rel_err, r.ok ? "<=" : ">", r.tolerance,
                r.ok ? "" : ", at input ", r.ok ? "" : worst.c_str());
  os << head;
  for (const InputGradcheck& in : r.result.inputs) {
    char line[256];
    std::snprintf(line, sizeof line, "    %-13s %-13s element %-4lld analytic %13.6e  numeric %13.6e  rel err %.1e\n",
                  in.name.c_str(), in.shape.str().c_str(), static_cast<long long>(in.worst), in.analytic, in.numeric,
                  in.rel_err);
    os << line;
  }
  return os.str();
}

int run_gradchecks(const std::vector<OpGradcheck>& entries, const GradcheckTarget& target, uint64_t seed,
                   std::FILE* out) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> failed;
  for (const auto& e : entries) {
    const OpGradcheckResult r = run_op_gradcheck(e, target, seed);
    std::fputs(format_op_gradcheck(r).c_str(), out);
    std::fflush(out);
    if (r.ok) continue;
    const std::string at = r.error.empty() ? ", input " + r.result.inputs[size_t(r.result.worst_input)].name : "";
    failed.push_back(r.op + " (" + r.setting + ")" + at);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (failed.empty()) {
    std::fprintf(out, "\nall %zu checks pass (%.1f s)\n", entries.size(), secs);
    return 0;
  }
  std::fprintf(out, "\n%zu of %zu checks FAILED:\n", failed.size(), entries.size());
  for (const auto& f : failed) std::fprintf(out, "  %s\n", f.c_str());
  return int(failed.size());
}

}  // namespace cg
