// Shape ops as tape ops (see shape_ops.h): reshape is a device copy, concat a
// strided copy per input, weighted_sum a scaled add per input; each backward
// routes (scales) the output gradient back into the inputs.
#include "layers/shape_ops.h"

#include "kernels/cpu/shape_ops.h"
#include "kernels/cuda/shape_ops.h"
#include "engine/dispatch.h"

namespace cg {

// dst (n) += w * src, or dst = w * src, on either device.
static void scale_add_any(const char* op, Tensor& dst, const Tensor& src, double w, bool accumulate) {
  CG_KERNEL(op, dst, scale_add, dst.data<T>(), src.data<T>(), T(w), dst.numel(), accumulate);
}

// inputs {x}. The first gradient into x is a copy (no zero fill), later ones add.
static void reshape_backward(Record& r) {
  bool fresh = false;
  Tensor dx = r.grad_for_write("x", &fresh);
  if (!dx.defined()) return;
  const Tensor dout = r.dout();
  scale_add_any("reshape_backward", dx, dout, 1.0, !fresh);
}

Tensor reshape(Tape* tape, const Tensor& x, Shape shape) {
  CG_CHECK(x.defined(), "reshape: input is undefined");
  CG_CHECK(shape.numel() == x.numel(), "reshape: cannot reshape ", x.shape().str(), " (", x.numel(),
           " elements) to ", shape.str(), " (", shape.numel(), " elements)");
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  out.view(x.shape()).copy_(x);  // a copy, so the output never aliases the input
  TAPE_RECORD(tape, "reshape", reshape_backward, ({{"x", x}}), out, ({}), ({}));
  return out;
}

Tensor flatten(Tape* tape, const Tensor& x) {
  CG_CHECK(x.defined() && x.ndim() >= 1, "flatten: needs a tensor with a batch dimension, got ",
           x.defined() ? x.shape().str() : std::string("undefined"));
  const int64_t N = x.dim(0);
  return reshape(tape, x, Shape{N, N > 0 ? x.numel() / N : 0});
}

// Elements per sample of one channel: H*W for 4-D, 1 for 2-D.
static int64_t inner_size(const Tensor& t) { return t.ndim() == 4 ? t.dim(2) * t.dim(3) : 1; }

static void check_concat(const std::vector<Tensor>& xs) {
  CG_CHECK(!xs.empty(), "concat: no inputs");
  const Tensor& a = xs[0];
  CG_CHECK(a.defined() && (a.ndim() == 2 || a.ndim() == 4), "concat: inputs must be (N,C) or (N,C,H,W), got ",
           a.defined() ? a.shape().str() : std::string("undefined"));
  check_float_dtype("concat", a);
  for (size_t i = 1; i < xs.size(); ++i) {
    const Tensor& b = xs[i];
    CG_CHECK(b.defined(), "concat: input ", i, " is undefined");
    bool ok = b.ndim() == a.ndim() && b.dim(0) == a.dim(0);
    if (ok && a.ndim() == 4) ok = b.dim(2) == a.dim(2) && b.dim(3) == a.dim(3);
    CG_CHECK(ok, "concat: input ", i, " ", b.shape().str(), " does not match input 0 ", a.shape().str(),
             " outside dim 1");
    check_same_device("concat", {&a, &b});
    check_same_dtype("concat", {&a, &b});
  }
}

// inputs xs; the offsets follow from their shapes.
static void concat_backward(Record& r) {
  const Tensor dout = r.dout();
  const int64_t N = dout.dim(0), stride = dout.numel() / (N > 0 ? N : 1);
  int64_t offset = 0;
  for (size_t i = 0; i < r.inputs.size(); ++i) {
    const int64_t width = r.inputs[i].dim(1) * inner_size(r.inputs[i]);
    if (r.needs_grad(i)) {
      Tensor& dx = r.grad_of(i);
      CG_KERNEL("concat_backward", dx, concat_add_rows, dx.data<T>(), dout.data<T>(), stride, offset, N, width);
    }
    offset += width;
  }
}

Tensor concat(Tape* tape, const std::vector<Tensor>& xs) {
  check_concat(xs);
  const Tensor& a = xs[0];
  const int64_t N = a.dim(0), inner = inner_size(a);
  int64_t C = 0;
  for (const Tensor& x : xs) C += x.dim(1);
  const Shape shape = a.ndim() == 4 ? Shape{N, C, a.dim(2), a.dim(3)} : Shape{N, C};
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  const int64_t stride = C * inner;
  int64_t offset = 0;
  for (const Tensor& x : xs) {
    const int64_t width = x.dim(1) * inner;
    CG_KERNEL("concat", out, concat_copy_rows, out.data<T>(), stride, offset, x.data<T>(), N, width);
    offset += width;
  }
  TAPE_RECORD(tape, "concat", concat_backward, (xs), out, ({}), ({}));
  return out;
}

static void check_batch_parts(const char* op, const std::vector<Tensor>& xs) {
  CG_CHECK(!xs.empty(), op, ": no inputs");
  for (size_t i = 0; i < xs.size(); ++i) {
    CG_CHECK(xs[i].defined() && xs[i].ndim() >= 1, op, ": input ", i, " is undefined or has no batch dimension");
    check_float_dtype(op, xs[i]);
    bool same = xs[i].ndim() == xs[0].ndim();
    for (int64_t d = 1; same && d < xs[0].ndim(); ++d) same = xs[i].dim(d) == xs[0].dim(d);
    CG_CHECK(same, op, ": input ", i, " ", xs[i].shape().str(), " does not match input 0 ", xs[0].shape().str(),
             " outside dim 0");
    check_same_device(op, {&xs[0], &xs[i]});
    check_same_dtype(op, {&xs[0], &xs[i]});
  }
}

// inputs xs, one after another in the output: each gets its rows of the gradient (a
// contiguous run of the output's, as each input's rows were in the forward).
static void concat_batch_backward(Record& r) {
  const Tensor dout = r.dout();
  int64_t offset = 0;
  for (size_t i = 0; i < r.inputs.size(); ++i) {
    const Tensor& x = r.inputs[i];
    if (r.needs_grad(i))
      scale_add_any("concat_batch_backward", r.grad_of(i), dout.slice_view(offset, x.shape()), 1.0, true);
    offset += x.numel();
  }
}

Tensor concat_batch(Tape* tape, const std::vector<Tensor>& xs) {
  check_batch_parts("concat_batch", xs);
  Shape shape = xs[0].shape();
  int64_t N = 0;
  for (const Tensor& x : xs) N += x.dim(0);
  shape.d[0] = N;
  Tensor out = Tensor::empty(shape, xs[0].dtype(), xs[0].device());
  int64_t offset = 0;
  for (const Tensor& x : xs) {
    out.slice_view(offset, x.shape()).copy_(x);
    offset += x.numel();
  }
  TAPE_RECORD(tape, "concat_batch", concat_batch_backward, (xs), out, ({}), ({}));
  return out;
}

// inputs {x}; args {start}: the output's gradient added into x's rows from start on.
static void slice_batch_backward(Record& r) {
  Tensor& dx = r.grad_of("x");
  const Tensor dout = r.dout();
  const int64_t per = r.in("x").numel() / r.in("x").dim(0);
  Tensor rows = dx.slice_view(static_cast<int64_t>(r.arg("start")) * per, dout.shape());
  scale_add_any("slice_batch_backward", rows, dout, 1.0, true);
}

Tensor slice_batch(Tape* tape, const Tensor& x, int64_t start, int64_t count) {
  check_batch_parts("slice_batch", {x});
  CG_CHECK(start >= 0 && count >= 1 && start + count <= x.dim(0), "slice_batch: samples [", start, ", ",
           start + count, ") of a batch of ", x.dim(0));
  Shape shape = x.shape();
  shape.d[0] = count;
  const int64_t per = x.numel() / x.dim(0);
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  out.copy_(x.slice_view(start * per, shape));
  TAPE_RECORD(tape, "slice_batch", slice_batch_backward, ({{"x", x}}), out, ({}), ({{"start", double(start)}}));
  return out;
}

// inputs xs; args: the weights.
static void weighted_sum_backward(Record& r) {
  const Tensor dout = r.dout();
  for (size_t i = 0; i < r.inputs.size(); ++i)
    if (r.needs_grad(i)) scale_add_any("weighted_sum_backward", r.grad_of(i), dout, r.args[i], true);
}

Tensor weighted_sum(Tape* tape, const std::vector<Tensor>& xs, const std::vector<double>& weights) {
  CG_CHECK(!xs.empty(), "weighted_sum: no inputs");
  CG_CHECK(xs.size() == weights.size(), "weighted_sum: ", xs.size(), " inputs but ", weights.size(), " weights");
  const Tensor& a = xs[0];
  CG_CHECK(a.defined(), "weighted_sum: input 0 is undefined");
  check_float_dtype("weighted_sum", a);
  for (size_t i = 1; i < xs.size(); ++i) {
    CG_CHECK(xs[i].defined(), "weighted_sum: input ", i, " is undefined");
    CG_CHECK(xs[i].shape() == a.shape(), "weighted_sum: input ", i, " ", xs[i].shape().str(),
             " does not match input 0 ", a.shape().str());
    check_same_device("weighted_sum", {&a, &xs[i]});
    check_same_dtype("weighted_sum", {&a, &xs[i]});
  }
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  for (size_t i = 0; i < xs.size(); ++i) scale_add_any("weighted_sum", out, xs[i], weights[i], i > 0);
  TAPE_RECORD(tape, "weighted_sum", weighted_sum_backward, (xs), out, ({}), (weights));
  return out;
}

}  // namespace cg
