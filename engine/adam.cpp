// Adam over a ParamStore's flat buffers: the per-step scalars in double on the
// host, then one pass (CPU loop or CUDA kernel) over all parameters.
#include "engine/adam.h"

#include <climits>
#include <cmath>

#include "base/profile.h"
#include "engine/dispatch.h"
#include "kernels/cpu/adam.h"
#include "kernels/cuda/adam.h"

namespace cg {
namespace {

common::AdamHyper hyper(const AdamConfig& c) { return {c.lr, c.beta1, c.beta2, c.eps}; }

}  // namespace

Adam::Adam(ParamStore& params, AdamConfig cfg) : ps_(params), cfg_(cfg) {
  CG_CHECK(ps_.finalized(), "Adam: the parameter store must be finalized before the optimizer is built");
  m_ = Tensor::zeros(ps_.flat().shape(), ps_.dtype(), ps_.device());
  v_ = Tensor::zeros(ps_.flat().shape(), ps_.dtype(), ps_.device());
  m_.set_name("adam.m");
  v_.set_name("adam.v");
  if (ps_.device() == Device::cuda) t_dev_ = Tensor::zeros(Shape{1}, DType::i32, Device::cuda);
}

void Adam::set_steps(int64_t t) {
  CG_CHECK(t >= 0 && t <= INT32_MAX, "Adam::set_steps: step count ", t, " out of range");
  t_ = t;
  if (t_dev_.defined()) t_dev_.copy_(Tensor::from({double(t)}, Shape{1}, DType::i32));
}

void Adam::step(const Tensor& halt) {
  CG_USER_CHECK(cfg_.lr >= 0 && cfg_.eps >= 0 && cfg_.beta1 >= 0 && cfg_.beta1 < 1 && cfg_.beta2 >= 0 &&
                    cfg_.beta2 < 1,
                "Adam: invalid settings (lr ", cfg_.lr, ", betas ", cfg_.beta1, " ", cfg_.beta2, ", eps ", cfg_.eps,
                "): need lr, eps >= 0 and betas in [0, 1)");
  Tensor &p = ps_.flat(), &g = ps_.flat_grad();
  check_shape("Adam::step", "moments", m_, p.shape());
  check_same_device("Adam::step", {&p, &g, &m_, &v_, &halt});
  CG_CHECK(!halt.defined() || (halt.dtype() == DType::i32 && halt.numel() == 1), "Adam::step: the guard must be i32 (1), got ",
           halt.describe());
  const int64_t n = p.numel();
  if (prof::recording()) prof::note_shape(std::string("(").append(std::to_string(n)).append(" parameters)"));
  if (p.is_cuda()) {  // the count on the device too: see adam.h
    ++t_;
    on_cuda("Adam::step", p, [&]<class>() {
      cuda::adam_step_counted(p.data<float>(), m_.data<float>(), v_.data<float>(), g.data<float>(), n, hyper(cfg_),
                              t_dev_.data<int32_t>(), halt.defined() ? halt.data<int32_t>() : nullptr);
    });
    return;
  }
  if (halt.defined() && halt.data<int32_t>()[0] != 0) return;
  ++t_;
  dispatch_float("Adam::step", p, [&]<class T>() {
    cpu::adam_step<T>(p.data<T>(), m_.data<T>(), v_.data<T>(), g.data<T>(), n, common::adam_scalars<T>(hyper(cfg_), t_),
                      true);
  });
  ps_.grads_zeroed_by_step();
}

}  // namespace cg
