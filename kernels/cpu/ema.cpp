// CPU weight average: one OpenMP loop over the flat buffer (see ema.h).
#include "kernels/cpu/ema.h"

#include "base/nvtx.h"
#include "kernels/common/ema.h"
#include "kernels/cpu/parallel.h"

namespace cg::cpu {

template <class T>
void ema_update(T* avg, const T* w, int64_t n, T one_minus_decay) {
  NVTX_RANGE_FN();
  parallel_each(n, 65536, [&](int64_t i) { avg[i] = common::ema_step(avg[i], w[i], one_minus_decay); });
}

template void ema_update<float>(float*, const float*, int64_t, float);
template void ema_update<double>(double*, const double*, int64_t, double);

}  // namespace cg::cpu
