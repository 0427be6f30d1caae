// CPU projection of transposed-convolution kernels onto resize-convolutions (templated
// on float and double); the per-kernel step is kernels/common/resize_conv.h.
#pragma once
#include <cstdint>

namespace cg::cpu {
// w (kernels, 4, 4) in place: each 4x4 kernel projected (common::project_resize_kernel),
// the share `strength` of its part outside the resize-convolutions removed.
template <class T>
void project_resize_conv(T* w, int64_t kernels, T strength);
}  // namespace cg::cpu
