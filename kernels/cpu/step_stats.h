// CPU fill of an iteration's statistics vector (kernels/common/step_stats.h): the loss
// terms into their slots, the non-finite guard, and, when logits.B > 0, D's mean outputs
// and genre accuracy. Same contract as kernels/cuda/step_stats.h.
#pragma once
#include <cstdint>

#include "kernels/common/step_stats.h"

namespace cg::cpu {
// stats (kStatSlots): slots of terms written; halt (1): set to 1 + the slot of the first
// non-finite term unless already set; stats[kHalted] = *halt afterwards.
void step_stats(float* stats, int32_t* halt, const common::LossTerms& terms, const common::BatchLogits& logits);
}  // namespace cg::cpu
