// CPU iteration statistics (see step_stats.h).
#include "kernels/cpu/step_stats.h"

#include <cmath>

#include "base/nvtx.h"

namespace cg::cpu {

void step_stats(float* stats, int32_t* halt, const common::LossTerms& terms, const common::BatchLogits& lg) {
  NVTX_RANGE_FN();
  for (int t = 0; t < terms.n; ++t) {
    const float v = terms.value[t] ? *terms.value[t] : 0.f;
    stats[terms.slot[t]] = v;
    if (!std::isfinite(v) && *halt == 0) *halt = 1 + terms.slot[t];
  }
  if (lg.B > 0) {
    double sr = 0, sf = 0, hr = 0, hf = 0;
    for (int64_t i = 0; i < lg.B; ++i) {
      sr += common::sigmoid_of(lg.src_real[i]);
      sf += common::sigmoid_of(lg.src_fake[i]);
      if (lg.cls_real) hr += common::genre_hit(lg.cls_real, lg.K, i, lg.labels_real[i]);
      if (lg.cls_fake) hf += common::genre_hit(lg.cls_fake, lg.K, i, lg.labels_fake[i]);
    }
    const double B = double(lg.B);
    stats[common::kDReal] = float(sr / B), stats[common::kDFake] = float(sf / B);
    stats[common::kAccReal] = float(hr / B), stats[common::kAccFake] = float(hf / B);
  }
  stats[common::kHalted] = float(*halt);
}

}  // namespace cg::cpu
