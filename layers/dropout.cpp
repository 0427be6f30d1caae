// Dropout as a tape op (see dropout.h): shape and argument checks, the mask drawn by the
// kernel from the Philox stream, and a backward that reads the saved mask.
#include "layers/dropout.h"

#include "engine/dispatch.h"
#include "kernels/common/dropout.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cuda/dropout.h"

namespace cg {

// inputs {x}; saved {mask}; args {p}. dx += mask * dout / (1-p).
static void dropout_backward(Record& r) {
  if (!r.needs_grad("x")) return;
  const Tensor& x = r.in("x");
  const Tensor& mask = r.kept("mask");
  const Tensor dout = r.dout();
  const double p = r.arg("p");
  bool fresh = false;
  Tensor dx = r.grad_for_write("x", &fresh);
  CG_KERNEL_INTO_GRAD(r.backward_name, x, fresh, dropout_backward, dx.data<T>(), dout.data<T>(),
                      mask.data<uint8_t>(), x.numel(), common::dropout_scale<T>(p));
}

Tensor dropout(Tape* tape, const Tensor& x, double p, bool training, Philox& rng) {
  CG_CHECK(x.defined(), "dropout: input is undefined");
  check_float_dtype("dropout", x);
  CG_CHECK(p >= 0 && p < 1, "dropout: p must lie in [0, 1), got ", p);
  if (!training || p == 0) return x;
  const int64_t n = x.numel();
  const uint64_t offset = rng.take(n);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor mask = Tensor::empty(x.shape(), DType::u8, x.device());
  CG_KERNEL("dropout", x, dropout_forward, out.data<T>(), mask.data<uint8_t>(), x.data<T>(), n, rng.seed(), offset,
            common::dropout_threshold(p), common::dropout_scale<T>(p));
  TAPE_RECORD(tape, "dropout", dropout_backward, ({{"x", x}}), out, ({{"mask", mask}}), ({{"p", p}}));
  return out;
}

}  // namespace cg
