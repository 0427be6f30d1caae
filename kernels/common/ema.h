// The per-element update of an exponential moving average, shared by the CPU loop and
// the CUDA kernel: avg += (1 - decay) * (w - avg). Written as a step toward w (not
// decay*avg + (1-decay)*w) so that an average that equals w stays w exactly.
#pragma once
#include "kernels/common/hd.h"

namespace cg::common {

template <class T>
CG_HD T ema_step(T avg, T w, T one_minus_decay) {
  return avg + one_minus_decay * (w - avg);
}

}  // namespace cg::common
