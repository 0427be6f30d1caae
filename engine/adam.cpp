// Adam over a ParamStore's flat buffers: the per-step scalars in double on the
// host, then one pass (CPU loop or CUDA kernel) over all parameters.
#include "engine/adam.h"

#include <cmath>

#include "base/profile.h"
#include "engine/dispatch.h"
#include "kernels/cpu/adam.h"
#include "kernels/cuda/adam.h"

namespace cg {
namespace {

template <class T>
common::AdamScalars<T> scalars(const AdamConfig& c, int64_t t) {
  const double bc1 = 1.0 - std::pow(c.beta1, static_cast<double>(t));
  const double bc2 = 1.0 - std::pow(c.beta2, static_cast<double>(t));
  return {static_cast<T>(c.beta1),        static_cast<T>(c.beta2),       static_cast<T>(1.0 - c.beta1),
          static_cast<T>(1.0 - c.beta2),  static_cast<T>(c.lr / bc1),    static_cast<T>(std::sqrt(bc2)),
          static_cast<T>(c.eps)};
}

}  // namespace

Adam::Adam(ParamStore& params, AdamConfig cfg) : ps_(params), cfg_(cfg) {
  CG_CHECK(ps_.finalized(), "Adam: the parameter store must be finalized before the optimizer is built");
  m_ = Tensor::zeros(ps_.flat().shape(), ps_.dtype(), ps_.device());
  v_ = Tensor::zeros(ps_.flat().shape(), ps_.dtype(), ps_.device());
  m_.set_name("adam.m");
  v_.set_name("adam.v");
}

void Adam::step() {
  CG_USER_CHECK(cfg_.lr >= 0 && cfg_.eps >= 0 && cfg_.beta1 >= 0 && cfg_.beta1 < 1 && cfg_.beta2 >= 0 &&
                    cfg_.beta2 < 1,
                "Adam: invalid settings (lr ", cfg_.lr, ", betas ", cfg_.beta1, " ", cfg_.beta2, ", eps ", cfg_.eps,
                "): need lr, eps >= 0 and betas in [0, 1)");
  Tensor &p = ps_.flat(), &g = ps_.flat_grad();
  check_shape("Adam::step", "moments", m_, p.shape());
  check_same_device("Adam::step", {&p, &g, &m_, &v_});
  ++t_;
  const int64_t n = p.numel();
  if (prof::recording()) prof::note_shape("(" + std::to_string(n) + " parameters)");
  CG_KERNEL("Adam::step", p, adam_step, p.data<T>(), m_.data<T>(), v_.data<T>(), g.data<T>(), n,
            scalars<T>(cfg_, t_));
}

}  // namespace cg
