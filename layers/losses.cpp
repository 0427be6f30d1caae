// Losses as tape ops (see losses.h): checks, device dispatch, and backward
// functions that scale by the upstream gradient of the one-element loss.
#include "layers/losses.h"

#include "kernels/cpu/losses.h"
#include "kernels/cuda/losses.h"
#include "engine/dispatch.h"

namespace cg {

// A prediction and its target: same numel, float, same dtype and device, non-empty.
static void check_pair(const char* op, const Tensor& pred, const Tensor& target, bool same_shape) {
  CG_CHECK(pred.defined() && target.defined(), op, ": input or target is undefined");
  check_float_dtype(op, pred);
  check_same_device(op, {&pred, &target});
  check_same_dtype(op, {&pred, &target});
  CG_CHECK(pred.numel() > 0, op, ": empty input ", pred.shape().str());
  if (same_shape)
    CG_CHECK(pred.shape() == target.shape(), op, ": input ", pred.shape().str(), " and target ",
             target.shape().str(), " differ in shape");
  else
    CG_CHECK(pred.numel() == target.numel(), op, ": input ", pred.shape().str(), " and target ",
             target.shape().str(), " differ in size");
}

// inputs {logits, targets}; targets get no gradient.
static void bce_with_logits_backward(Record& r) {
  if (!r.needs_grad("logits")) return;
  const Tensor &z = r.in("logits"), &t = r.in("targets");
  const Tensor dout = r.dout();
  CG_KERNEL("bce_with_logits_backward", z, bce_with_logits_backward, r.grad_of("logits").data<T>(), dout.data<T>(),
            z.data<T>(), t.data<T>(), z.numel());
}

Tensor bce_with_logits(Tape* tape, const Tensor& logits, const Tensor& targets) {
  check_pair("bce_with_logits", logits, targets, false);
  CG_CHECK(logits.ndim() == 1 || (logits.ndim() == 2 && logits.dim(1) == 1),
           "bce_with_logits: logits must be (N) or (N,1), got ", logits.shape().str());
  Tensor loss = Tensor::empty(Shape{1}, logits.dtype(), logits.device());
  CG_KERNEL("bce_with_logits", logits, bce_with_logits_forward, loss.data<T>(), logits.data<T>(), targets.data<T>(),
            logits.numel());
  TAPE_RECORD(tape, "bce_with_logits", bce_with_logits_backward, ({{"logits", logits}, {"targets", targets}}), loss,
              ({}), ({}));
  return loss;
}

// inputs {logits, labels}; saved {lse (N)}.
static void cross_entropy_backward(Record& r) {
  if (!r.needs_grad("logits")) return;
  const Tensor &z = r.in("logits"), &labels = r.in("labels"), &lse = r.kept("lse");
  const int64_t N = z.dim(0), K = z.dim(1);
  const Tensor dout = r.dout();
  CG_KERNEL("cross_entropy_backward", z, cross_entropy_backward, r.grad_of("logits").data<T>(), dout.data<T>(),
            z.data<T>(), lse.data<T>(), labels.data<int32_t>(), N, K);
}

Tensor cross_entropy(Tape* tape, const Tensor& logits, const Tensor& labels) {
  check_ndim("cross_entropy", "logits", logits, 2);
  check_float_dtype("cross_entropy", logits);
  CG_CHECK(labels.defined() && labels.dtype() == DType::i32, "cross_entropy: labels must be i32, got ",
           labels.describe());
  check_shape("cross_entropy", "labels", labels, Shape{logits.dim(0)});
  check_same_device("cross_entropy", {&logits, &labels});
  const int64_t N = logits.dim(0), K = logits.dim(1);
  CG_CHECK(N > 0 && K > 0, "cross_entropy: empty logits ", logits.shape().str());
  Tensor loss = Tensor::empty(Shape{1}, logits.dtype(), logits.device());
  Tensor lse = Tensor::empty(Shape{N}, logits.dtype(), logits.device());
  CG_KERNEL("cross_entropy", logits, cross_entropy_forward, loss.data<T>(), lse.data<T>(), logits.data<T>(),
            labels.data<int32_t>(), N, K);
  TAPE_RECORD(tape, "cross_entropy", cross_entropy_backward, ({{"logits", logits}, {"labels", labels}}), loss,
              ({{"lse", lse}}), ({}));
  return loss;
}

// inputs {pred, target}; target gets no gradient.
static void mse_backward(Record& r) {
  if (!r.needs_grad("pred")) return;
  const Tensor &p = r.in("pred"), &t = r.in("target");
  const Tensor dout = r.dout();
  CG_KERNEL("mse_backward", p, mse_backward, r.grad_of("pred").data<T>(), dout.data<T>(), p.data<T>(), t.data<T>(),
            p.numel());
}

Tensor mse(Tape* tape, const Tensor& pred, const Tensor& target) {
  check_pair("mse", pred, target, true);
  Tensor loss = Tensor::empty(Shape{1}, pred.dtype(), pred.device());
  CG_KERNEL("mse", pred, mse_forward, loss.data<T>(), pred.data<T>(), target.data<T>(), pred.numel());
  TAPE_RECORD(tape, "mse", mse_backward, ({{"pred", pred}, {"target", target}}), loss, ({}), ({}));
  return loss;
}

double accuracy(const Tensor& logits, const Tensor& labels) {
  check_ndim("accuracy", "logits", logits, 2);
  check_float_dtype("accuracy", logits);
  CG_CHECK(labels.defined() && labels.dtype() == DType::i32, "accuracy: labels must be i32, got ",
           labels.describe());
  check_shape("accuracy", "labels", labels, Shape{logits.dim(0)});
  const int64_t N = logits.dim(0), K = logits.dim(1);
  CG_CHECK(N > 0 && K > 0, "accuracy: empty logits ", logits.shape().str());
  const std::vector<double> z = logits.to_vector(), y = labels.to_vector();
  int64_t hits = 0;
  for (int64_t i = 0; i < N; ++i) {
    int64_t best = 0;  // the first maximum wins ties, as torch.argmax
    for (int64_t k = 1; k < K; ++k)
      if (z[i * K + k] > z[i * K + best]) best = k;
    hits += (best == static_cast<int64_t>(y[i]));
  }
  return double(hits) / double(N);
}

}  // namespace cg
