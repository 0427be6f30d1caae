// CUDA DiffAugment (Zhao et al. 2020) over float: the colour transform as one block per
// sample (a block reduction for the sample's mean, then its pixels), translation and cutout
// as grid-stride kernels. Same contract as kernels/cpu/diff_augment.h; p lives on the device.
#pragma once
#include <cstdint>

namespace cg::cuda {
void diffaug_color_forward(float* out, const float* x, const float* p, int64_t N, int64_t C, int64_t HW);
void diffaug_color_backward(float* dx, const float* dout, const float* p, int64_t N, int64_t C, int64_t HW);
void diffaug_translate_forward(float* out, const float* x, const float* p, int64_t N, int64_t C, int64_t H,
                               int64_t W);
void diffaug_translate_backward(float* dx, const float* dout, const float* p, int64_t N, int64_t C, int64_t H,
                                int64_t W);
void diffaug_cutout_forward(float* out, const float* x, const float* p, int64_t N, int64_t C, int64_t H, int64_t W);
void diffaug_cutout_backward(float* dx, const float* dout, const float* p, int64_t N, int64_t C, int64_t H,
                             int64_t W);
}  // namespace cg::cuda
