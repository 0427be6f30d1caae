// CUDA iteration statistics (see step_stats.h): one block of 256 threads; thread 0 copies
// the loss terms and runs the guard, the block reduces D's outputs in double (fixed order).
#include "base/cuda_check.h"
#include "base/cuda_context.h"
#include "base/nvtx.h"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/step_stats.h"

namespace cg::cuda {

namespace {

__global__ void step_stats_kernel(float* stats, int32_t* halt, common::LossTerms terms, common::BatchLogits lg) {
  if (lg.B > 0) {
    double sr = 0, sf = 0, hr = 0, hf = 0;
    for (int64_t i = threadIdx.x; i < lg.B; i += blockDim.x) {
      sr += common::sigmoid_of(lg.src_real[i]);
      sf += common::sigmoid_of(lg.src_fake[i]);
      if (lg.cls_real) hr += common::genre_hit(lg.cls_real, lg.K, i, lg.labels_real[i]);
      if (lg.cls_fake) hf += common::genre_hit(lg.cls_fake, lg.K, i, lg.labels_fake[i]);
    }
    const Pair<double> s = block_sum2(sr, sf), h = block_sum2(hr, hf);
    if (threadIdx.x == 0) {
      const double B = double(lg.B);
      stats[common::kDReal] = float(s.a / B), stats[common::kDFake] = float(s.b / B);
      stats[common::kAccReal] = float(h.a / B), stats[common::kAccFake] = float(h.b / B);
    }
  }
  if (threadIdx.x != 0) return;
  for (int t = 0; t < terms.n; ++t) {
    const float v = terms.value[t] ? *terms.value[t] : 0.f;
    stats[terms.slot[t]] = v;
    if (!isfinite(v) && *halt == 0) *halt = 1 + terms.slot[t];
  }
  stats[common::kHalted] = float(*halt);
}

}  // namespace

void step_stats(float* stats, int32_t* halt, const common::LossTerms& terms, const common::BatchLogits& logits) {
  NVTX_RANGE_FN();
  CG_CHECK(stats && halt && terms.n >= 0 && terms.n <= 6, "step_stats: bad arguments");
  step_stats_kernel<<<1, 256, 0, stream()>>>(stats, halt, terms, logits);
  cudaCheck(cudaGetLastError());
}

}  // namespace cg::cuda
