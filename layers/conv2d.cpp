// Conv2d: shape checks, device dispatch and the backward record (see conv2d.h).
#include "layers/conv2d.h"

#include <cmath>

#include "kernels/cpu/activations.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cuda/activations.h"
#include "kernels/cuda/conv2d.h"
#include "engine/dispatch.h"
#include "layers/cast.h"
#include "layers/layer_scope.h"

namespace cg {

// A batch of `groups` equal groups (D's real and generated images, one call: see
// conv2d's header) gets its weight gradient one group at a time, the last group first:
// the sums, and their order, of the separate ops the groups stand for, so the bits too.
struct Groups {
  int64_t count, n, dout_step, x_step;  // groups, samples per group, elements per group
};
static Groups batch_groups(const Record& r, int64_t N, int64_t dout_per_sample, int64_t x_per_sample) {
  const int64_t count = static_cast<int64_t>(r.arg_or("groups", 1)), n = N / count;
  return {count, n, n * dout_per_sample, n * x_per_sample};
}

// inputs {x, w, b}; args {stride, pad[, groups]}; saved {w_op} only when the forward ran on
// a converted weight (bf16 activations: the bf16 copy of the FP32 master weight), else nothing.
// The input gradient and the parameter gradients are two kernel calls, each its own
// pass, so the profile and Nsight time them apart (the kernel skips null outputs).
// dout is the gradient of the convolution's own output: the record's, or for
// conv2d_leaky_relu the activation's input gradient.
static void conv2d_backward_passes(Record& r, const Tensor& dout) {
  const Tensor &x = r.in("x"), &w = r.in("w");
  const Tensor& wk = r.saved.empty() ? w : r.kept("w_op");
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), OC = w.dim(0), K = w.dim(2);
  const int64_t stride = static_cast<int64_t>(r.arg("stride")), pad = static_cast<int64_t>(r.arg("pad"));
  if (r.needs_grad("x")) {
    NVTX_PASS("backward-data");
    bool fresh = false;  // dx is written whole: a new buffer is assigned, not zeroed and added to
    Tensor dx = r.grad_for_write("x", &fresh);
    CG_KERNEL_LOWP_INTO_GRAD("conv2d_backward", x, fresh, conv2d_backward, dx.data<T>(), nullptr, nullptr,
                             dout.data<T>(), x.data<T>(), wk.data<T>(), N, C, H, W, OC, K, stride, pad);
  }
  if (r.needs_grad("w") || r.needs_grad("b")) {
    NVTX_PASS("backward-weight");
    const Groups g = batch_groups(r, N, OC * dout.dim(2) * dout.dim(3), C * H * W);
    for (int64_t i = g.count - 1; i >= 0; --i)
      CG_KERNEL_LOWP("conv2d_backward", x, conv2d_backward, nullptr, CG_GRAD_PTR(param_t<T>, r, "w"),
                     CG_GRAD_PTR(param_t<T>, r, "b"), dout.data<T>() + i * g.dout_step, x.data<T>() + i * g.x_step,
                     wk.data<T>(), g.n, C, H, W, OC, K, stride, pad);
  }
}

static void conv2d_backward(Record& r) { conv2d_backward_passes(r, r.dout()); }

// conv2d_backward_passes on the CPU for conv2d_leaky_relu: the kernels take the
// activation's gradient from dout and the output a as they read dout (no dz in memory
// where they can; cpu::conv2d_leaky_backward).
static void conv2d_leaky_passes_cpu(Record& r, const Tensor& dout, const Tensor& a, double slope) {
  const Tensor &x = r.in("x"), &w = r.in("w");
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), OC = w.dim(0), K = w.dim(2);
  const int64_t stride = static_cast<int64_t>(r.arg("stride")), pad = static_cast<int64_t>(r.arg("pad"));
  dispatch_float("conv2d_leaky_relu_backward", x, [&]<class T>() {
    if (r.needs_grad("x")) {
      NVTX_PASS("backward-data");
      bool fresh = false;
      Tensor dx = r.grad_for_write("x", &fresh);
      cpu::conv2d_leaky_backward<T>(dx.data<T>(), nullptr, nullptr, dout.data<T>(), a.data<T>(), T(slope),
                                    x.data<T>(), w.data<T>(), N, C, H, W, OC, K, stride, pad, !fresh);
    }
    if (r.needs_grad("w") || r.needs_grad("b")) {
      NVTX_PASS("backward-weight");
      const Groups g = batch_groups(r, N, a.numel() / N, C * H * W);
      for (int64_t i = g.count - 1; i >= 0; --i)
        cpu::conv2d_leaky_backward<T>(nullptr, CG_GRAD_PTR(T, r, "w"), CG_GRAD_PTR(T, r, "b"),
                                      dout.data<T>() + i * g.dout_step, a.data<T>() + i * g.dout_step, T(slope),
                                      x.data<T>() + i * g.x_step, w.data<T>(), g.n, C, H, W, OC, K, stride, pad);
    }
  });
}

// inputs {x, w, b}; args {stride, pad, slope[, groups]}; saved as conv2d's. The output a =
// leaky_relu(z) stands in for the convolution's output z, which is not kept: with slope
// >= 0, a > 0 exactly where z > 0, so dz = dout * (a > 0 ? 1 : slope) is the LeakyReLU
// op's input gradient, bit for bit, and the passes after it are conv2d's. On CUDA dz is
// one pass of its own before them.
static void conv2d_leaky_relu_backward(Record& r) {
  if (!r.needs_grad("x") && !r.needs_grad("w") && !r.needs_grad("b")) return;
  const Tensor& a = r.output;
  const Tensor dout = r.dout();
  const double slope = r.arg("slope");
  if (!a.is_cuda()) return conv2d_leaky_passes_cpu(r, dout, a, slope);
  Tensor dz = Tensor::empty(a.shape(), a.dtype(), a.device());
  {
    NVTX_PASS("backward-act");
    CG_KERNEL_LOWP("conv2d_leaky_relu_backward", a, activation_backward, dz.data<T>(), dout.data<T>(), a.data<T>(),
                   a.data<T>(), a.numel(), common::Activation::leaky_relu, static_cast<param_t<T>>(slope), false);
  }
  conv2d_backward_passes(r, dz);
}

// Checks everything a kernel relies on and returns the output shape.
static Shape conv2d_out_shape(const Tensor& x, const Tensor& w, const Tensor& b, int stride, int pad, int groups) {
  check_ndim("conv2d", "input", x, 4);
  CG_CHECK(groups >= 1 && x.dim(0) % groups == 0, "conv2d: a batch of ", x.dim(0), " samples cannot be ", groups,
           " equal groups");
  check_ndim("conv2d", "weight", w, 4);
  CG_CHECK(stride >= 1 && pad >= 0, "conv2d: stride ", stride, " must be >= 1 and padding ", pad, " >= 0");
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), OC = w.dim(0), K = w.dim(2);
  CG_CHECK(N > 0 && C > 0 && H > 0 && W > 0, "conv2d: input ", x.shape().str(), " has an empty dimension");
  CG_CHECK(OC > 0 && K > 0 && w.dim(3) == K, "conv2d: weight ", w.shape().str(),
           " must be (out_channels,in_channels,K,K) with a square kernel");
  CG_CHECK(w.dim(1) == C, "conv2d: input ", x.shape().str(), " has ", C, " channels but weight ", w.shape().str(),
           " expects ", w.dim(1));
  CG_CHECK(H + 2 * pad >= K && W + 2 * pad >= K, "conv2d: input ", x.shape().str(), " with padding ", pad,
           " is smaller than the kernel ", K, "x", K);
  if (b.defined()) check_shape("conv2d", "bias", b, Shape{OC});
  check_same_device("conv2d", {&x, &w, &b});
  check_same_dtype("conv2d", {&w, &b});
  check_float_or_bf16("conv2d", x);
  // bf16 activations take the FP32 master weight (converted per call); otherwise one dtype.
  CG_CHECK(x.dtype() == w.dtype() || (x.dtype() == DType::bf16 && w.dtype() == DType::f32), "conv2d: input ",
           x.describe(), " and weight ", w.describe(), " differ in dtype");
  return Shape{N, OC, (H + 2 * pad - K) / stride + 1, (W + 2 * pad - K) / stride + 1};
}

// The record's args: stride and pad, the fused activation's slope (slope >= 0), and groups
// only when the batch has several.
static Args conv_args(int stride, int pad, int groups, double slope = -1) {
  Args a{{"stride", double(stride)}, {"pad", double(pad)}};
  if (slope >= 0) a.values.push_back(slope), a.names.push_back("slope");
  if (groups > 1) a.values.push_back(groups), a.names.push_back("groups");
  return a;
}

Tensor conv2d(Tape* tape, const Tensor& x, const Tensor& w, const Tensor& b, int stride, int pad, int groups) {
  const Shape os = conv2d_out_shape(x, w, b, stride, pad, groups);
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), OC = w.dim(0), K = w.dim(2);
  Tensor out = Tensor::empty(os, x.dtype(), x.device());
  const Tensor wk = w.dtype() == x.dtype() ? w : converted(w, x.dtype());
  CG_KERNEL_LOWP("conv2d", x, conv2d_forward, out.data<T>(), x.data<T>(), wk.data<T>(), ptr_or_null<param_t<T>>(b),
                 N, C, H, W, OC, K, stride, pad);
  const Args args = conv_args(stride, pad, groups);
  if (wk.same(w))
    TAPE_RECORD(tape, "conv2d", conv2d_backward, ({{"x", x}, {"w", w}, {"b", b}}), out, ({}), (args));
  else
    TAPE_RECORD(tape, "conv2d", conv2d_backward, ({{"x", x}, {"w", w}, {"b", b}}), out, ({{"w_op", wk}}), (args));
  return out;
}

Tensor conv2d_leaky_relu(Tape* tape, const Tensor& x, const Tensor& w, const Tensor& b, int stride, int pad,
                         double slope, int groups) {
  CG_CHECK(slope >= 0 && std::isfinite(slope), "conv2d_leaky_relu: slope ", slope, " must be finite and >= 0");
  const Shape os = conv2d_out_shape(x, w, b, stride, pad, groups);
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), OC = w.dim(0), K = w.dim(2);
  Tensor out = Tensor::empty(os, x.dtype(), x.device());
  const Tensor wk = w.dtype() == x.dtype() ? w : converted(w, x.dtype());
  CG_KERNEL_LOWP("conv2d_leaky_relu", x, conv2d_leaky_forward, out.data<T>(), x.data<T>(), wk.data<T>(),
                 ptr_or_null<param_t<T>>(b), N, C, H, W, OC, K, stride, pad, static_cast<param_t<T>>(slope));
  const Args args = conv_args(stride, pad, groups, slope);
  if (wk.same(w))
    TAPE_RECORD(tape, "conv2d_leaky_relu", conv2d_leaky_relu_backward, ({{"x", x}, {"w", w}, {"b", b}}), out, ({}),
                (args));
  else
    TAPE_RECORD(tape, "conv2d_leaky_relu", conv2d_leaky_relu_backward, ({{"x", x}, {"w", w}, {"b", b}}), out,
                ({{"w_op", wk}}), (args));
  return out;
}

Tensor Conv2d::forward_leaky(Tape* tape, const Tensor& x, double slope, int groups) const {
  NVTX_LAYER(layer_name(name), "forward");
  Tensor y = conv2d_leaky_relu(tape, x, weight, bias, stride, pad, slope, groups);
  note_io(x, y);
  return y;
}

Tensor Conv2d::forward(Tape* tape, const Tensor& x, int groups) const {
  NVTX_LAYER(layer_name(name), "forward");
  Tensor y = conv2d(tape, x, weight, bias, stride, pad, groups);
  note_io(x, y);
  return y;
}

Conv2d::Conv2d(ParamStore& ps, const std::string& name_, int64_t in, int64_t out, int kernel, int stride_,
               int pad_, bool with_bias)
    : name(name_), stride(stride_), pad(pad_) {
  CG_CHECK(in > 0 && out > 0 && kernel > 0 && stride_ >= 1 && pad_ >= 0, "Conv2d ", name, ": bad configuration in ",
           in, " out ", out, " kernel ", kernel, " stride ", stride_, " padding ", pad_);
  weight = ps.param(name + ".weight", Shape{out, in, kernel, kernel});
  if (with_bias) bias = ps.param(name + ".bias", Shape{out});
}

}  // namespace cg
