// Synchronised BatchNorm2d (see batchnorm2d_sync.h): the kernels' phases with an
// all-reduce between them. Forward: local sums (and the count) -> all-reduce -> squared
// deviations from the global mean -> all-reduce -> normalise. Backward: local sums of g
// and g*x -> all-reduce a copy -> gamma/beta from the local, dx from the global sums.
// The sums are doubles: a host tensor on the CPU, raw device bytes on CUDA (f64 tensors
// live on the CPU only).
#include "layers/batchnorm2d_sync.h"

#include "engine/dispatch.h"
#include "kernels/cpu/batchnorm2d_sync.h"
#include "kernels/cuda/batchnorm2d_sync.h"

namespace cg {

namespace {

Comm* g_comm = nullptr;

// n doubles on device d.
Tensor doubles(int64_t n, Device d) {
  return d == Device::cpu ? Tensor::empty(Shape{n}, DType::f64) : Tensor::empty(Shape{8 * n}, DType::u8, d);
}
double* dp(const Tensor& t) { return static_cast<double*>(const_cast<void*>(t.raw())); }
int64_t count_of(const Tensor& t) { return t.dtype() == DType::f64 ? t.numel() : t.numel() / 8; }

Comm& active(const char* op) {
  CG_CHECK(g_comm, op, ": a synchronised batch norm ran outside its SyncBatchNormScope");
  return *g_comm;
}

// inputs {x, gamma, beta}; saved {mean, invstd (C), stats (C+1 doubles: global sums, count)};
// args {slope}. With slope != 1, dout is the activation's output gradient and r.output its output.
void batch_norm2d_sync_backward(Record& r) {
  Comm& comm = active("batch_norm2d_sync_backward");
  const Tensor &x = r.in("x"), &gamma = r.in("gamma");
  const Tensor &mean = r.kept("mean"), &invstd = r.kept("invstd"), &stats = r.kept("stats");
  const double slope = r.arg("slope");
  const bool act = slope != 1.0;
  const int64_t N = x.dim(0), C = x.dim(1), HW = x.ndim() == 4 ? x.dim(2) * x.dim(3) : 1;
  const Tensor dout = r.dout();
  Tensor local = doubles(2 * C, x.device()), global = doubles(2 * C, x.device());
  CG_KERNEL("batch_norm2d_sync_backward", x, batch_norm2d_sync_grad_sums, dp(local), dout.data<T>(), x.data<T>(),
            act ? r.output.data<T>() : nullptr, T(slope), N, C, HW);
  global.copy_(local);
  comm.allreduce(dp(global), 2 * C, DType::f64, x.device(), ReduceOp::sum, "allreduce bn.grad_sums");
  bool fresh = false;
  Tensor dx = r.grad_for_write("x", &fresh);
  CG_KERNEL_INTO_GRAD("batch_norm2d_sync_backward", x, fresh, batch_norm2d_sync_backward, ptr_or_null<T>(dx),
                      CG_GRAD_PTR(T, r, "gamma"), CG_GRAD_PTR(T, r, "beta"), dout.data<T>(), x.data<T>(),
                      gamma.data<T>(), mean.data<T>(), invstd.data<T>(), dp(local), dp(global), dp(stats) + C, N, C,
                      HW, act ? r.output.data<T>() : nullptr, T(slope));
}

}  // namespace

SyncBatchNormScope::SyncBatchNormScope(Comm* comm) : prev_(g_comm) {
  if (comm) g_comm = comm;  // a world of one takes the synchronised path too (its all-reduces are no-ops): tests
}
SyncBatchNormScope::~SyncBatchNormScope() { g_comm = prev_; }

Comm* sync_batch_norm_comm() { return g_comm; }

Tensor batch_norm2d_sync(Tape* tape, const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor running_mean,
                         Tensor running_var, double momentum, double eps, double slope) {
  Comm& comm = active("batch_norm2d_sync");
  const int64_t N = x.dim(0), C = x.dim(1), HW = x.ndim() == 4 ? x.dim(2) * x.dim(3) : 1;
  const Device dev = x.device();
  Tensor stats = doubles(C + 1, dev), sq = doubles(C, dev);
  CG_KERNEL("batch_norm2d_sync", x, batch_norm2d_sync_sums, dp(stats), x.data<T>(), N, C, HW);
  comm.allreduce(dp(stats), count_of(stats), DType::f64, dev, ReduceOp::sum, "allreduce bn.stats");
  CG_KERNEL("batch_norm2d_sync", x, batch_norm2d_sync_sq_dev, dp(sq), x.data<T>(), dp(stats), N, C, HW);
  comm.allreduce(dp(sq), C, DType::f64, dev, ReduceOp::sum, "allreduce bn.stats");
  Tensor out = Tensor::empty(x.shape(), x.dtype(), dev);
  Tensor mean = Tensor::empty(Shape{C}, x.dtype(), dev), invstd = Tensor::empty(Shape{C}, x.dtype(), dev);
  CG_KERNEL("batch_norm2d_sync", x, batch_norm2d_sync_apply, out.data<T>(), mean.data<T>(), invstd.data<T>(),
            ptr_or_null<T>(running_mean), ptr_or_null<T>(running_var), x.data<T>(), gamma.data<T>(),
            beta.data<T>(), dp(stats), dp(sq), N, C, HW, momentum, eps, T(slope));
  TAPE_RECORD(tape, "batch_norm2d_sync", batch_norm2d_sync_backward, ({{"x", x}, {"gamma", gamma}, {"beta", beta}}),
              out, ({{"mean", mean}, {"invstd", invstd}, {"stats", stats}}), ({{"slope", slope}}));
  return out;
}

}  // namespace cg
