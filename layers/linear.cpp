// Linear: shape checks, device dispatch and the backward record (see linear.h).
#include "layers/linear.h"

#include "kernels/cpu/linear.h"
#include "kernels/cuda/linear.h"
#include "engine/dispatch.h"
#include "layers/layer_scope.h"

namespace cg {

// inputs {x, w, b}; no saved tensors: x and w are inputs. Input and parameter
// gradients are two kernel calls, each its own pass (as conv2d's).
static void linear_backward(Record& r) {
  const Tensor &x = r.in("x"), &w = r.in("w");
  const int64_t B = x.dim(0), C = x.dim(1), OC = w.dim(0);
  const Tensor dout = r.dout();
  if (r.needs_grad("x")) {
    NVTX_PASS("backward-data");
    CG_KERNEL("linear_backward", x, linear_backward, CG_GRAD_PTR(T, r, "x"), nullptr, nullptr, dout.data<T>(),
              x.data<T>(), w.data<T>(), B, C, OC);
  }
  if (r.needs_grad("w") || r.needs_grad("b")) {
    NVTX_PASS("backward-weight");
    CG_KERNEL("linear_backward", x, linear_backward, nullptr, CG_GRAD_PTR(T, r, "w"), CG_GRAD_PTR(T, r, "b"),
              dout.data<T>(), x.data<T>(), w.data<T>(), B, C, OC);
  }
}

Tensor linear(Tape* tape, const Tensor& x, const Tensor& w, const Tensor& b) {
  check_ndim("linear", "input", x, 2);
  check_ndim("linear", "weight", w, 2);
  CG_CHECK(x.dim(1) == w.dim(1), "linear: input ", x.shape().str(), " does not match weight ", w.shape().str(),
           " (in_features ", w.dim(1), ")");
  if (b.defined()) check_shape("linear", "bias", b, Shape{w.dim(0)});
  check_same_device("linear", {&x, &w, &b});
  check_same_dtype("linear", {&x, &w, &b});
  const int64_t B = x.dim(0), C = x.dim(1), OC = w.dim(0);
  Tensor out = Tensor::empty(Shape{B, OC}, x.dtype(), x.device());
  CG_KERNEL("linear", x, linear_forward, out.data<T>(), x.data<T>(), w.data<T>(), ptr_or_null<T>(b), B, C, OC);
  TAPE_RECORD(tape, "linear", linear_backward, ({{"x", x}, {"w", w}, {"b", b}}), out, ({}), ({}));
  return out;
}

Tensor Linear::forward(Tape* tape, const Tensor& x) const {
  NVTX_LAYER(layer_name(name), "forward");
  Tensor y = linear(tape, x, weight, bias);
  note_io(x, y);
  return y;
}

Linear::Linear(ParamStore& ps, const std::string& name_, int64_t in, int64_t out, bool with_bias) : name(name_) {
  weight = ps.param(name + ".weight", Shape{out, in});
  if (with_bias) bias = ps.param(name + ".bias", Shape{out});
}

}  // namespace cg
