// The f32 <-> bf16 cast op (see cast.h): kernels/cpu/cast.h or kernels/cuda/cast.h by
// device; the backward converts the output's gradient back into the input's dtype.
#include "layers/cast.h"

#include "base/precision.h"
#include "engine/dispatch.h"
#include "kernels/cpu/cast.h"
#include "kernels/cuda/cast.h"

namespace cg {

namespace {

void check_castable(const char* op, const Tensor& x, DType dtype) {
  CG_CHECK(x.defined(), op, ": input is undefined");
  CG_CHECK((x.dtype() == DType::f32 || x.dtype() == DType::bf16) && (dtype == DType::f32 || dtype == DType::bf16),
           op, ": converts between f32 and bf16, not ", x.describe(), " to ", dtype_name(dtype));
}

// dst (n) = src converted (accumulate: dst += it, rounded to dst's dtype), on src's device.
void convert_into(const char* op, Tensor& dst, const Tensor& src, bool accumulate) {
  const int64_t n = src.numel();
  const bool narrow = dst.dtype() == DType::bf16;
  if (!src.is_cuda()) {
    if (narrow) cpu::cast(dst.data<bf16>(), src.data<float>(), n, accumulate);
    else cpu::cast(dst.data<float>(), src.data<bf16>(), n, accumulate);
    return;
  }
  on_cuda(op, src, [&]<class>() {
    if (narrow) cuda::cast(dst.data<bf16>(), src.data<float>(), n, accumulate);
    else cuda::cast(dst.data<float>(), src.data<bf16>(), n, accumulate);
  });
}

// inputs {x}; the gradient of the output, converted back into x's dtype.
void cast_backward(Record& r) {
  bool fresh = false;
  Tensor dx = r.grad_for_write("x", &fresh);
  if (!dx.defined()) return;
  const Tensor dout = r.dout();
  convert_into("cast_backward", dx, dout, !fresh);
}

}  // namespace

Tensor converted(const Tensor& x, DType dtype) {
  check_castable("cast", x, dtype);
  Tensor out = Tensor::empty(x.shape(), dtype, x.device());
  if (dtype == x.dtype()) out.copy_(x);
  else convert_into("cast", out, x, false);
  return out;
}

Tensor to_dtype(Tape* tape, const Tensor& x, DType dtype) {
  if (x.defined() && x.dtype() == dtype) return x;
  check_castable("cast", x, dtype);
  Tensor out = converted(x, dtype);
  TAPE_RECORD(tape, "cast", cast_backward, ({{"x", x}}), out, ({}), ({{"to_bf16", dtype == DType::bf16 ? 1.0 : 0.0}}));
  return out;
}

DType activation_dtype(Device d) {
  return d == Device::cuda && cuda_math().precision == Precision::bf16 ? DType::bf16 : DType::f32;
}

}  // namespace cg
