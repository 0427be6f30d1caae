// CPU f32 <-> bf16 conversions (see cast.h).
#include "kernels/cpu/cast.h"

#include "base/nvtx.h"
#include "kernels/cpu/parallel.h"

namespace cg::cpu {

void cast(bf16* out, const float* in, int64_t n, bool accumulate) {
  NVTX_RANGE_FN();
  parallel_each(n, 65536, [&](int64_t i) {
    out[i] = common::float_to_bf16(accumulate ? common::bf16_to_float(out[i]) + in[i] : in[i]);
  });
}

void cast(float* out, const bf16* in, int64_t n, bool accumulate) {
  NVTX_RANGE_FN();
  parallel_each(n, 65536, [&](int64_t i) {
    const float v = common::bf16_to_float(in[i]);
    out[i] = accumulate ? out[i] + v : v;
  });
}

}  // namespace cg::cpu
