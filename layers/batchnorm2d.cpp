// BatchNorm2d: checks, device dispatch, the running-statistics update and the
// backward record (see batchnorm2d.h). The record saves the mean and invstd the
// forward normalised with (batch statistics in training, running ones in eval).
#include "layers/batchnorm2d.h"

#include "kernels/cpu/batchnorm2d.h"
#include "kernels/cuda/batchnorm2d.h"
#include "layers/dispatch.h"

namespace cg {

namespace {
struct BnDims {
  int64_t N, C, HW;
};
BnDims bn_dims(const Tensor& x) {
  return {x.dim(0), x.dim(1), x.ndim() == 4 ? x.dim(2) * x.dim(3) : 1};
}
}  // namespace

// inputs {x, gamma, beta}; saved {mean, invstd} (C); args {training, eps}.
static void batch_norm2d_backward(Record& r) {
  const Tensor &x = r.in("x"), &gamma = r.in("gamma");
  const Tensor &mean = r.kept("mean"), &invstd = r.kept("invstd");
  const bool batch_stats = r.arg("training") != 0;
  const double eps = r.arg("eps");
  const BnDims d = bn_dims(x);
  const int64_t N = d.N, C = d.C, HW = d.HW;
  const Tensor dout = r.dout();
  CG_KERNEL("batch_norm2d_backward", x, batch_norm2d_backward, CG_GRAD_PTR(T, r, "x"), CG_GRAD_PTR(T, r, "gamma"),
            CG_GRAD_PTR(T, r, "beta"), dout.data<T>(), x.data<T>(), gamma.data<T>(), mean.data<T>(),
            invstd.data<T>(), N, C, HW, batch_stats, eps);
}

static void check_batch_norm_args(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& rm,
                                  const Tensor& rv, bool training, double momentum, double eps) {
  const char* op = "batch_norm2d";
  CG_CHECK(x.defined() && (x.ndim() == 4 || x.ndim() == 2), op, ": input must be (N,C,H,W) or (N,C), got ",
           x.defined() ? x.shape().str() : std::string("undefined"));
  check_float_dtype(op, x);
  const Shape ch{x.dim(1)};
  check_shape(op, "weight (gamma)", gamma, ch);
  check_shape(op, "bias (beta)", beta, ch);
  CG_CHECK(rm.defined() == rv.defined(), op, ": running_mean and running_var must be both given or both absent");
  CG_CHECK(training || rm.defined(), op, ": eval mode needs running statistics");
  if (rm.defined()) {
    check_shape(op, "running_mean", rm, ch);
    check_shape(op, "running_var", rv, ch);
  }
  check_same_device(op, {&x, &gamma, &beta, &rm, &rv});
  check_same_dtype(op, {&x, &gamma, &beta, &rm, &rv});
  CG_CHECK(momentum >= 0 && momentum <= 1, op, ": momentum ", momentum, " outside [0, 1]");
  CG_CHECK(eps > 0, op, ": eps must be positive, got ", eps);
  const BnDims d = bn_dims(x);
  CG_CHECK(!training || d.N * d.HW > 1, op, ": training needs more than one value per channel, got input ",
           x.shape().str());
}

Tensor batch_norm2d(Tape* tape, const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor running_mean,
                    Tensor running_var, bool training, double momentum, double eps) {
  check_batch_norm_args(x, gamma, beta, running_mean, running_var, training, momentum, eps);
  const BnDims d = bn_dims(x);
  const int64_t N = d.N, C = d.C, HW = d.HW;
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  const bool record = Tape::wants(tape, {&x, &gamma, &beta});
  Tensor mean, invstd;
  if (training || record) {
    mean = Tensor::empty(Shape{C}, x.dtype(), x.device());
    invstd = Tensor::empty(Shape{C}, x.dtype(), x.device());
  }
  const char* op = "batch_norm2d";
  if (training)
    CG_KERNEL(op, x, batch_norm2d_forward_train, out.data<T>(), mean.data<T>(), invstd.data<T>(),
              ptr_or_null<T>(running_mean), ptr_or_null<T>(running_var), x.data<T>(), gamma.data<T>(),
              beta.data<T>(), N, C, HW, momentum, eps);
  else
    CG_KERNEL(op, x, batch_norm2d_forward_eval, out.data<T>(), x.data<T>(), gamma.data<T>(), beta.data<T>(),
              running_mean.data<T>(), running_var.data<T>(), N, C, HW, eps);
  if (!training && record)
    CG_KERNEL(op, x, batch_norm2d_eval_stats, mean.data<T>(), invstd.data<T>(), running_mean.data<T>(),
              running_var.data<T>(), C, eps);
  TAPE_RECORD(tape, "batch_norm2d", batch_norm2d_backward, ({{"x", x}, {"gamma", gamma}, {"beta", beta}}), out,
              ({{"mean", mean}, {"invstd", invstd}}), ({{"training", training ? 1.0 : 0.0}, {"eps", eps}}));
  return out;
}

BatchNorm2d::BatchNorm2d(ParamStore& ps, const std::string& name, int64_t channels) {
  weight = ps.param(name + ".weight", Shape{channels});
  bias = ps.param(name + ".bias", Shape{channels});
  running_mean = ps.buffer(name + ".running_mean", Shape{channels});
  running_var = ps.buffer(name + ".running_var", Shape{channels});
}

void BatchNorm2d::reset() const {
  // Tensors are handles: these copies fill the module's own storage.
  Tensor w = weight, b = bias, rm = running_mean, rv = running_var;
  w.fill_(1.0);
  b.fill_(0.0);
  rm.fill_(0.0);
  rv.fill_(1.0);
}

}  // namespace cg
