// Pointwise activations as tape ops (see activations.h). ReLU and LeakyReLU
// differentiate from the input, Tanh and Sigmoid from the output: both are in
// the record already (input x and the output), so nothing extra is saved.
#include "layers/activations.h"

#include "kernels/cpu/activations.h"
#include "kernels/cuda/activations.h"
#include "engine/dispatch.h"

namespace cg {

using common::Activation;

static Tensor activation_forward(const char* op, const Tensor& x, Activation act, double slope) {
  CG_CHECK(x.defined(), op, ": input is undefined");
  check_float_or_bf16(op, x);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  CG_KERNEL_LOWP(op, x, activation_forward, out.data<T>(), x.data<T>(), x.numel(), act,
                 static_cast<param_t<T>>(slope));
  return out;
}

// inputs {x}; args {slope} for leaky_relu.
static void activation_backward(Record& r, Activation act) {
  if (!r.needs_grad("x")) return;
  const Tensor& x = r.in("x");
  const Tensor dout = r.dout();
  const double slope = act == Activation::leaky_relu ? r.arg("slope") : 0.0;
  bool fresh = false;
  Tensor dx = r.grad_for_write("x", &fresh);
  CG_KERNEL_LOWP_INTO_GRAD(r.backward_name, x, fresh, activation_backward, dx.data<T>(), dout.data<T>(),
                           x.data<T>(), r.output.data<T>(), x.numel(), act, static_cast<param_t<T>>(slope));
}

static void relu_backward(Record& r) { activation_backward(r, Activation::relu); }
static void leaky_relu_backward(Record& r) { activation_backward(r, Activation::leaky_relu); }
static void tanh_backward(Record& r) { activation_backward(r, Activation::tanh); }
static void sigmoid_backward(Record& r) { activation_backward(r, Activation::sigmoid); }

Tensor relu(Tape* tape, const Tensor& x) {
  Tensor out = activation_forward("relu", x, Activation::relu, 0.0);
  TAPE_RECORD(tape, "relu", relu_backward, ({{"x", x}}), out, ({}), ({}));
  return out;
}

Tensor leaky_relu(Tape* tape, const Tensor& x, double slope) {
  Tensor out = activation_forward("leaky_relu", x, Activation::leaky_relu, slope);
  TAPE_RECORD(tape, "leaky_relu", leaky_relu_backward, ({{"x", x}}), out, ({}), ({{"slope", slope}}));
  return out;
}

Tensor tanh(Tape* tape, const Tensor& x) {
  Tensor out = activation_forward("tanh", x, Activation::tanh, 0.0);
  TAPE_RECORD(tape, "tanh", tanh_backward, ({{"x", x}}), out, ({}), ({}));
  return out;
}

Tensor sigmoid(Tape* tape, const Tensor& x) {
  Tensor out = activation_forward("sigmoid", x, Activation::sigmoid, 0.0);
  TAPE_RECORD(tape, "sigmoid", sigmoid_backward, ({{"x", x}}), out, ({}), ({}));
  return out;
}

}  // namespace cg
