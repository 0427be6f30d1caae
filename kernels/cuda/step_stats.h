// CUDA fill of an iteration's statistics vector (kernels/common/step_stats.h), one block,
// no host involvement; same contract as kernels/cpu/step_stats.h.
#pragma once
#include <cstdint>

#include "kernels/common/step_stats.h"

namespace cg::cuda {
void step_stats(float* stats, int32_t* halt, const common::LossTerms& terms, const common::BatchLogits& logits);
}  // namespace cg::cuda
