// CUDA projection of transposed-convolution kernels onto resize-convolutions: one thread
// per 4x4 kernel; same contract as kernels/cpu/resize_conv.h.
#pragma once
#include <cstdint>

namespace cg::cuda {
// w (kernels, 4, 4) in place: each 4x4 kernel projected (common::project_resize_kernel),
// the share `strength` of its part outside the resize-convolutions removed.
void project_resize_conv(float* w, int64_t kernels, float strength);
}  // namespace cg::cuda
