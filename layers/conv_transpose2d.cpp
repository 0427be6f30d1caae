// ConvTranspose2d: shape checks, device dispatch and the backward record (see conv_transpose2d.h).
#include "layers/conv_transpose2d.h"

#include "kernels/cpu/conv_transpose2d.h"
#include "kernels/cpu/resize_conv.h"
#include "kernels/cuda/conv_transpose2d.h"
#include "kernels/cuda/resize_conv.h"
#include "engine/dispatch.h"
#include "layers/cast.h"
#include "layers/layer_scope.h"

namespace cg {

// inputs {x, w, b}; args {stride, pad}; saved {w_op} only when the forward ran on a
// converted weight (bf16 activations: the bf16 copy of the FP32 master weight), else nothing.
// The input gradient and the parameter gradients are two kernel calls, each its own
// pass, so the profile and Nsight time them apart (the kernel skips null outputs).
static void conv_transpose2d_backward(Record& r) {
  const Tensor &x = r.in("x"), &w = r.in("w");
  const Tensor& wk = r.saved.empty() ? w : r.kept("w_op");
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), OC = w.dim(1), K = w.dim(2);
  const int64_t stride = static_cast<int64_t>(r.arg("stride")), pad = static_cast<int64_t>(r.arg("pad"));
  const Tensor dout = r.dout();
  if (r.needs_grad("x")) {
    NVTX_PASS("backward-data");
    bool fresh = false;  // dx is written whole: a new buffer is assigned, not zeroed and added to
    Tensor dx = r.grad_for_write("x", &fresh);
    CG_KERNEL_LOWP_INTO_GRAD("conv_transpose2d_backward", x, fresh, conv_transpose2d_backward, dx.data<T>(), nullptr,
                             nullptr, dout.data<T>(), x.data<T>(), wk.data<T>(), N, C, H, W, OC, K, stride, pad);
  }
  if (r.needs_grad("w") || r.needs_grad("b")) {
    NVTX_PASS("backward-weight");
    CG_KERNEL_LOWP("conv_transpose2d_backward", x, conv_transpose2d_backward, nullptr,
                   CG_GRAD_PTR(param_t<T>, r, "w"), CG_GRAD_PTR(param_t<T>, r, "b"), dout.data<T>(), x.data<T>(),
                   wk.data<T>(), N, C, H, W, OC, K, stride, pad);
  }
}

// Checks everything a kernel relies on and returns the output shape.
static Shape conv_transpose2d_out_shape(const Tensor& x, const Tensor& w, const Tensor& b, int stride, int pad) {
  const char* op = "conv_transpose2d";
  check_ndim(op, "input", x, 4);
  check_ndim(op, "weight", w, 4);
  CG_CHECK(stride >= 1 && pad >= 0, op, ": stride ", stride, " must be >= 1 and padding ", pad, " >= 0");
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), OC = w.dim(1), K = w.dim(2);
  CG_CHECK(N > 0 && C > 0 && H > 0 && W > 0, op, ": input ", x.shape().str(), " has an empty dimension");
  CG_CHECK(OC > 0 && K > 0 && w.dim(3) == K, op, ": weight ", w.shape().str(),
           " must be (in_channels,out_channels,K,K) with a square kernel");
  CG_CHECK(w.dim(0) == C, op, ": input ", x.shape().str(), " has ", C, " channels but weight ", w.shape().str(),
           " expects ", w.dim(0));
  const int64_t OH = (H - 1) * stride - 2 * pad + K, OW = (W - 1) * stride - 2 * pad + K;
  CG_CHECK(OH >= 1 && OW >= 1, op, ": input ", x.shape().str(), " with kernel ", K, " stride ", stride,
           " padding ", pad, " gives an empty output (", OH, "x", OW, ")");
  if (b.defined()) check_shape(op, "bias", b, Shape{OC});
  check_same_device(op, {&x, &w, &b});
  check_same_dtype(op, {&w, &b});
  check_float_or_bf16(op, x);
  // bf16 activations take the FP32 master weight (converted per call); otherwise one dtype.
  CG_CHECK(x.dtype() == w.dtype() || (x.dtype() == DType::bf16 && w.dtype() == DType::f32), "conv_transpose2d: input ",
           x.describe(), " and weight ", w.describe(), " differ in dtype");
  return Shape{N, OC, OH, OW};
}

Tensor conv_transpose2d(Tape* tape, const Tensor& x, const Tensor& w, const Tensor& b, int stride, int pad) {
  const Shape os = conv_transpose2d_out_shape(x, w, b, stride, pad);
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), OC = w.dim(1), K = w.dim(2);
  Tensor out = Tensor::empty(os, x.dtype(), x.device());
  const Tensor wk = w.dtype() == x.dtype() ? w : converted(w, x.dtype());
  CG_KERNEL_LOWP("conv_transpose2d", x, conv_transpose2d_forward, out.data<T>(), x.data<T>(), wk.data<T>(),
                 ptr_or_null<param_t<T>>(b), N, C, H, W, OC, K, stride, pad);
  if (wk.same(w))
    TAPE_RECORD(tape, "conv_transpose2d", conv_transpose2d_backward, ({{"x", x}, {"w", w}, {"b", b}}), out, ({}),
                ({{"stride", double(stride)}, {"pad", double(pad)}}));
  else
    TAPE_RECORD(tape, "conv_transpose2d", conv_transpose2d_backward, ({{"x", x}, {"w", w}, {"b", b}}), out,
                ({{"w_op", wk}}), ({{"stride", double(stride)}, {"pad", double(pad)}}));
  return out;
}

void project_resize_conv(Tensor& weight, double strength) {
  CG_CHECK(strength > 0 && strength <= 1, "project_resize_conv: strength ", strength, " outside (0, 1]");
  CG_CHECK(weight.ndim() == 4 && weight.dim(2) == 4 && weight.dim(3) == 4, "project_resize_conv: weight ",
           weight.shape().str(), " is not (C,OC,4,4)");
  CG_CHECK(weight.dtype() == DType::f32 || weight.dtype() == DType::f64, "project_resize_conv: weight ",
           weight.describe(), " must be f32 or f64");
  CG_KERNEL("project_resize_conv", weight, project_resize_conv, weight.data<T>(), weight.numel() / 16, T(strength));
}

Tensor ConvTranspose2d::forward(Tape* tape, const Tensor& x) const {
  NVTX_LAYER(layer_name(name), "forward");
  Tensor y = conv_transpose2d(tape, x, weight, bias, stride, pad);
  note_io(x, y);
  return y;
}

ConvTranspose2d::ConvTranspose2d(ParamStore& ps, const std::string& name_, int64_t in, int64_t out, int kernel,
                                 int stride_, int pad_, bool with_bias)
    : name(name_), stride(stride_), pad(pad_) {
  CG_CHECK(in > 0 && out > 0 && kernel > 0 && stride_ >= 1 && pad_ >= 0, "ConvTranspose2d ", name,
           ": bad configuration in ", in, " out ", out, " kernel ", kernel, " stride ", stride_, " padding ", pad_);
  weight = ps.param(name + ".weight", Shape{in, out, kernel, kernel});
  if (with_bias) bias = ps.param(name + ".bias", Shape{out});
}

}  // namespace cg
