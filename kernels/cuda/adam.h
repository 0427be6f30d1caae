// CUDA Adam over flat float buffers: one grid-stride kernel; same contract as
// kernels/cpu/adam.h.
#pragma once
#include <cstdint>

#include "kernels/common/adam.h"

namespace cg::cuda {
// param, m, v updated in place from grad  // all (n)
void adam_step(float* param, float* m, float* v, const float* grad, int64_t n, const common::AdamScalars<float>& s);
// A step whose count lives on the device: unless halt (null: never) is set, *t += 1 and the
// update uses the bias corrections of the new count, computed on the device; a halted step
// changes nothing. What a captured graph replays.
void adam_step_counted(float* param, float* m, float* v, const float* grad, int64_t n, const common::AdamHyper& h,
                       int32_t* t, const int32_t* halt);
}  // namespace cg::cuda
