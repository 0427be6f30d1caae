// BatchNorm2d and BatchNorm2d + LeakyReLU/ReLU fused: checks, device dispatch, the
// running-statistics update and the backward records (see batchnorm2d.h). A record saves
// the mean and invstd the forward normalised with (batch statistics in training, running
// ones in eval); the fused one also undoes the activation, by the sign of its own output
// or, where the CPU forward saved the scale and shift it applied, of x * scale + shift.
#include "layers/batchnorm2d.h"

#include <cmath>

#include "kernels/cpu/batchnorm2d.h"
#include "kernels/cuda/batchnorm2d.h"
#include "engine/dispatch.h"
#include "layers/batchnorm2d_sync.h"
#include "layers/layer_scope.h"

namespace cg {

namespace {
struct BnDims {
  int64_t N, C, HW;
};
BnDims bn_dims(const Tensor& x) {
  return {x.dim(0), x.dim(1), x.ndim() == 4 ? x.dim(2) * x.dim(3) : 1};
}
// Group g's C values of a per-group statistic, or null where it was not kept (t is a
// handle: the copy points at the same storage).
template <class P>
P* group_of(Tensor t, int64_t g, int64_t C) {
  return t.defined() ? t.data<P>() + g * C : nullptr;
}
}  // namespace

// inputs {x, gamma, beta}; saved {mean, invstd, scale, shift} (groups*C; scale and shift
// only from a CPU training forward with the epilogue, else undefined); args {training,
// eps[, slope][, groups]}. With the epilogue, dout is the activation's output gradient
// and r.output its output. Groups are taken last first, as the separate ops' records would be swept,
// so gamma's and beta's gradients add in their order.
static void bn_backward(Record& r, bool act) {
  const Tensor &x = r.in("x"), &gamma = r.in("gamma");
  const Tensor &mean = r.kept("mean"), &invstd = r.kept("invstd"), &scale = r.kept("scale"),
               &shift = r.kept("shift");
  const bool batch_stats = r.arg("training") != 0;
  const double eps = r.arg("eps"), slope = act ? r.arg("slope") : 1.0;
  const int64_t G = static_cast<int64_t>(r.arg_or("groups", 1));
  const BnDims d = bn_dims(x);
  const int64_t N = d.N / G, C = d.C, HW = d.HW, step = N * C * HW;
  const Tensor dout = r.dout();
  bool fresh = false;  // dx is written whole: a new buffer is assigned, not zeroed and added to
  Tensor dx = r.grad_for_write("x", &fresh);
  for (int64_t g = G - 1; g >= 0; --g)
    CG_KERNEL_LOWP(r.backward_name, x, batch_norm2d_backward, dx.defined() ? dx.data<T>() + g * step : nullptr,
                   CG_GRAD_PTR(param_t<T>, r, "gamma"), CG_GRAD_PTR(param_t<T>, r, "beta"),
                   dout.data<T>() + g * step, x.data<T>() + g * step, gamma.data<param_t<T>>(),
                   mean.data<param_t<T>>() + g * C, invstd.data<param_t<T>>() + g * C, N, C, HW, batch_stats,
                   eps, act ? r.output.data<T>() + g * step : nullptr, static_cast<param_t<T>>(slope), !fresh,
                   group_of<param_t<T>>(scale, g, C), group_of<param_t<T>>(shift, g, C));
}

static void batch_norm2d_backward(Record& r) { bn_backward(r, false); }
static void batch_norm2d_act_backward(Record& r) { bn_backward(r, true); }

static void check_batch_norm_args(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& rm,
                                  const Tensor& rv, bool training, double momentum, double eps, int groups) {
  const char* op = "batch_norm2d";
  CG_CHECK(x.defined() && (x.ndim() == 4 || x.ndim() == 2), op, ": input must be (N,C,H,W) or (N,C), got ",
           x.defined() ? x.shape().str() : std::string("undefined"));
  check_float_or_bf16(op, x);
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
  check_same_dtype(op, {&gamma, &beta, &rm, &rv});
  // bf16 activations keep FP32 parameters and statistics; otherwise one dtype throughout.
  CG_CHECK(x.dtype() == gamma.dtype() || (x.dtype() == DType::bf16 && gamma.dtype() == DType::f32), op, ": input ",
           x.describe(), " and weight ", gamma.describe(), " differ in dtype");
  CG_CHECK(momentum >= 0 && momentum <= 1, op, ": momentum ", momentum, " outside [0, 1]");
  CG_CHECK(eps > 0, op, ": eps must be positive, got ", eps);
  CG_CHECK(groups >= 1 && x.dim(0) % groups == 0, op, ": a batch of ", x.dim(0), " samples cannot be ", groups,
           " equal groups");
  const BnDims d = bn_dims(x);
  CG_CHECK(!training || d.N / groups * d.HW > 1, op, ": training needs more than one value per channel",
           groups > 1 ? " in each group" : "", ", got input ", x.shape().str());
}

// The forward of both ops; slope 1 is plain batch norm. groups > 1 (training only): the
// batch is that many equal groups, each normalised with its own statistics and updating
// the running ones in turn, as that many calls would.
static Tensor bn_forward(Tape* tape, const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor running_mean,
                         Tensor running_var, bool training, double momentum, double eps, double slope,
                         int groups = 1) {
  check_batch_norm_args(x, gamma, beta, running_mean, running_var, training, momentum, eps, groups);
  if (!training) groups = 1;  // the running statistics: every sample alike
  if (training && sync_batch_norm_comm()) {  // --sync-bn: statistics of the global batch
    CG_CHECK(groups == 1, "batch_norm2d: --sync-bn normalises one group per call, got ", groups);
    return batch_norm2d_sync(tape, x, gamma, beta, running_mean, running_var, momentum, eps, slope);
  }
  const BnDims d = bn_dims(x);
  const int64_t N = d.N / groups, C = d.C, HW = d.HW, step = N * C * HW;
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  const bool record = Tape::wants(tape, {&x, &gamma, &beta});
  Tensor mean, invstd, scale, shift;
  if (training || record) {  // the statistics' dtype: gamma's (f32 under bf16 activations)
    mean = Tensor::empty(Shape{groups * C}, gamma.dtype(), x.device());
    invstd = Tensor::empty(Shape{groups * C}, gamma.dtype(), x.device());
  }
  if (training && record && slope != 1.0 && !x.is_cuda()) {  // the backward then reads x, not out
    scale = Tensor::empty(Shape{groups * C}, gamma.dtype(), x.device());
    shift = Tensor::empty(Shape{groups * C}, gamma.dtype(), x.device());
  }
  const char* op = slope == 1.0 ? "batch_norm2d" : "batch_norm2d_act";
  if (training)
    for (int64_t g = 0; g < groups; ++g)
      CG_KERNEL_LOWP(op, x, batch_norm2d_forward_train, out.data<T>() + g * step, mean.data<param_t<T>>() + g * C,
                     invstd.data<param_t<T>>() + g * C, ptr_or_null<param_t<T>>(running_mean),
                     ptr_or_null<param_t<T>>(running_var), x.data<T>() + g * step, gamma.data<param_t<T>>(),
                     beta.data<param_t<T>>(), N, C, HW, momentum, eps, static_cast<param_t<T>>(slope),
                     group_of<param_t<T>>(scale, g, C), group_of<param_t<T>>(shift, g, C));
  else
    CG_KERNEL_LOWP(op, x, batch_norm2d_forward_eval, out.data<T>(), x.data<T>(), gamma.data<param_t<T>>(),
                   beta.data<param_t<T>>(), running_mean.data<param_t<T>>(), running_var.data<param_t<T>>(), N, C,
                   HW, eps, static_cast<param_t<T>>(slope));
  if (!training && record)
    CG_KERNEL(op, gamma, batch_norm2d_eval_stats, mean.data<T>(), invstd.data<T>(), running_mean.data<T>(),
              running_var.data<T>(), C, eps);
  Args args{{"training", training ? 1.0 : 0.0}, {"eps", eps}};
  if (slope != 1.0) args.values.push_back(slope), args.names.push_back("slope");
  if (groups > 1) args.values.push_back(groups), args.names.push_back("groups");
  if (slope == 1.0)
    TAPE_RECORD(tape, "batch_norm2d", batch_norm2d_backward, ({{"x", x}, {"gamma", gamma}, {"beta", beta}}), out,
                ({{"mean", mean}, {"invstd", invstd}, {"scale", scale}, {"shift", shift}}), (args));
  else
    TAPE_RECORD(tape, "batch_norm2d_act", batch_norm2d_act_backward,
                ({{"x", x}, {"gamma", gamma}, {"beta", beta}}), out,
                ({{"mean", mean}, {"invstd", invstd}, {"scale", scale}, {"shift", shift}}), (args));
  return out;
}

Tensor batch_norm2d(Tape* tape, const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor running_mean,
                    Tensor running_var, bool training, double momentum, double eps) {
  return bn_forward(tape, x, gamma, beta, running_mean, running_var, training, momentum, eps, 1.0);
}

Tensor batch_norm2d_act(Tape* tape, const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor running_mean,
                        Tensor running_var, bool training, double momentum, double eps, double slope, int groups) {
  CG_CHECK(std::isfinite(slope) && slope >= 0, "batch_norm2d_act: the activation's slope must be >= 0 "
           "(its derivative is read from the output), got ", slope);
  return bn_forward(tape, x, gamma, beta, running_mean, running_var, training, momentum, eps, slope, groups);
}

Tensor BatchNorm2d::forward(Tape* tape, const Tensor& x, bool training) const {
  NVTX_LAYER(layer_name(name), "forward");
  Tensor y = batch_norm2d(tape, x, weight, bias, running_mean, running_var, training, momentum, eps);
  note_io(x, y);
  return y;
}

Tensor BatchNorm2d::forward_act(Tape* tape, const Tensor& x, bool training, double slope, bool running,
                               int groups) const {
  NVTX_LAYER(layer_name(name), "forward");
  Tensor y = batch_norm2d_act(tape, x, weight, bias, running ? running_mean : Tensor(),
                              running ? running_var : Tensor(), training, momentum, eps, slope, groups);
  note_io(x, y);
  return y;
}

BatchNorm2d::BatchNorm2d(ParamStore& ps, const std::string& name_, int64_t channels) : name(name_) {
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
