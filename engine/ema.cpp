// The weight average (see ema.h): checks, then the CPU loop or the CUDA kernel.
#include "engine/ema.h"

#include <algorithm>
#include <cmath>

#include "engine/dispatch.h"
#include "kernels/cpu/ema.h"
#include "kernels/cuda/ema.h"

namespace cg {

double ema_decay_at(double decay, int64_t updates) {
  return std::min(decay, (1.0 + double(updates)) / (10.0 + double(updates)));
}

int64_t ema_warmup_updates(double decay) {
  CG_CHECK(decay >= 0 && decay < 1, "ema_warmup_updates: decay ", decay, " outside [0, 1)");
  // (1+t)/(10+t) >= d  <=>  t >= (10d - 1)/(1 - d); then step over rounding either way
  int64_t t = std::max<int64_t>(0, int64_t(std::ceil((10.0 * decay - 1.0) / (1.0 - decay))) - 2);
  while (ema_decay_at(decay, t) < decay) ++t;
  return t;
}

void ema_update(Tensor& avg, const Tensor& w, double decay) {
  CG_CHECK(decay >= 0 && decay <= 1, "ema_update: decay ", decay, " outside [0, 1]");
  check_shape("ema_update", "weights", w, avg.shape());
  check_same_device("ema_update", {&avg, &w});
  check_same_dtype("ema_update", {&avg, &w});
  CG_KERNEL("ema_update", avg, ema_update, avg.data<T>(), w.data<T>(), avg.numel(), T(1.0 - decay));
}

void ema_update(ParamStore& avg, ParamStore& src, double decay) {
  CG_CHECK(avg.finalized() && src.finalized() && avg.params().size() == src.params().size() &&
               avg.buffers().size() == src.buffers().size(),
           "ema_update: the two parameter stores differ in layout");
  ema_update(avg.flat(), src.flat(), decay);
  if (avg.flat_buffers().defined() && avg.flat_buffers().numel() > 0)
    ema_update(avg.flat_buffers(), src.flat_buffers(), decay);
}

}  // namespace cg
