// The spectral loss as a tape op (see spectral_loss.h): checks, device dispatch, and the
// backward function reading the forward's DFT and per-genre powers.
#include "layers/spectral_loss.h"

#include "engine/dispatch.h"
#include "kernels/common/spectral.h"
#include "kernels/cpu/spectral.h"
#include "kernels/cuda/spectral.h"

namespace cg {

static void check_images(const char* op, const Tensor& images) {
  check_ndim(op, "images", images, 4);
  check_float_dtype(op, images);
  CG_CHECK(images.dim(2) == images.dim(3) && images.dim(2) >= 2 && images.dim(0) > 0 && images.dim(1) > 0, op,
           ": images must be (N,C,S,S) with N, C >= 1 and S >= 2, got ", images.shape().str());
}

// Forward's DFT (re, im) and ring powers, shared by both entry points.
static void rings(Tensor& re, Tensor& im, Tensor& ring, const Tensor& x) {
  const int64_t N = x.dim(0);
  const int C = int(x.dim(1)), S = int(x.dim(2)), R = common::spectral_rings(S);
  re = Tensor::empty(x.shape(), x.dtype(), x.device());
  im = Tensor::empty(x.shape(), x.dtype(), x.device());
  ring = Tensor::empty(Shape{N, R}, x.dtype(), x.device());
  CG_KERNEL("spectral_rings", x, spectral_rings_forward, re.data<T>(), im.data<T>(), ring.data<T>(), x.data<T>(), N,
            C, S);
}

Tensor spectral_ring_power(const Tensor& images) {
  check_images("spectral_ring_power", images);
  Tensor re, im, ring;
  rings(re, im, ring, images);
  return ring;
}

// inputs {images, labels, target}; saved {re, im (N,C,S,S), genre_power (K,R)}.
static void spectral_loss_backward(Record& r) {
  bool fresh = false;
  Tensor dx = r.grad_for_write("images", &fresh);
  if (!dx.defined()) return;
  const Tensor &x = r.in("images"), &labels = r.in("labels"), &target = r.in("target");
  const Tensor dout = r.dout();
  CG_KERNEL_INTO_GRAD("spectral_loss_backward", x, fresh, spectral_loss_backward, dx.data<T>(), dout.data<T>(),
                      r.kept("re").data<T>(), r.kept("im").data<T>(), r.kept("genre_power").data<T>(),
                      labels.data<int32_t>(), target.data<T>(), x.dim(0), int(x.dim(1)), int(x.dim(2)),
                      int(target.dim(0)), int(r.arg("first_ring")), T(r.arg("eps")));
}

Tensor spectral_loss(Tape* tape, const Tensor& images, const Tensor& labels, const Tensor& target, int first_ring,
                     double eps) {
  check_images("spectral_loss", images);
  const int64_t N = images.dim(0);
  const int S = int(images.dim(2)), R = common::spectral_rings(S);
  CG_CHECK(labels.defined() && labels.dtype() == DType::i32, "spectral_loss: labels must be i32, got ",
           labels.describe());
  check_shape("spectral_loss", "labels", labels, Shape{N});
  check_ndim("spectral_loss", "target", target, 2);
  CG_CHECK(target.dim(1) == R && target.dim(0) > 0, "spectral_loss: target must be (K,", R, ") for ", S, "x", S,
           " images, got ", target.shape().str());
  check_same_device("spectral_loss", {&images, &labels, &target});
  check_same_dtype("spectral_loss", {&images, &target});
  CG_CHECK(first_ring >= 0 && first_ring < R, "spectral_loss: first_ring ", first_ring, " outside [0, ", R, ")");
  CG_CHECK(eps > 0, "spectral_loss: eps must be > 0, got ", eps);
  const int K = int(target.dim(0));
  Tensor re, im, ring;
  rings(re, im, ring, images);
  Tensor loss = Tensor::empty(Shape{1}, images.dtype(), images.device());
  Tensor genre_power = Tensor::empty(Shape{K, R}, images.dtype(), images.device());
  CG_KERNEL("spectral_loss", images, spectral_loss_forward, loss.data<T>(), genre_power.data<T>(), ring.data<T>(),
            labels.data<int32_t>(), target.data<T>(), N, K, R, first_ring, T(eps));
  TAPE_RECORD(tape, "spectral_loss", spectral_loss_backward,
              ({{"images", images}, {"labels", labels}, {"target", target}}), loss,
              ({{"re", re}, {"im", im}, {"genre_power", genre_power}}),
              ({{"first_ring", double(first_ring)}, {"eps", eps}}));
  return loss;
}

}  // namespace cg
