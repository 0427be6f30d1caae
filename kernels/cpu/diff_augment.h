// CPU DiffAugment (Zhao et al. 2020): the three differentiable augmentations of D's
// inputs, forward and backward, as plain loops templated on float and double. Each
// sample n has its own parameters in p (drawn by layers/diff_augment.cpp). Same contract
// as kernels/cuda/diff_augment.h; backward functions accumulate (+=) into dx.
#pragma once
#include <cstdint>

namespace cg::cpu {

// Colour: brightness, then saturation, then contrast, as the reference applies them:
// y2 = s*(x - mean_c x) + mean_c x + b, y = k*y2 + (1-k)*(mean x + b), with p (N,3) = (b, s, k),
// mean_c over the channels of a pixel and mean over the whole sample. x, out (N,C,HW).
template <class T>
void diffaug_color_forward(T* out, const T* x, const T* p, int64_t N, int64_t C, int64_t HW);
// dx (N,C,HW) += the transpose of the above applied to dout (the map is linear in x).
template <class T>
void diffaug_color_backward(T* dx, const T* dout, const T* p, int64_t N, int64_t C, int64_t HW);

// Translation by whole pixels with zero fill: out[n,c,i,j] = x[n,c,i+di,j+dj] where that
// lies inside the image, else 0; p (N,2) = (di, dj) as whole numbers. x, out (N,C,H,W).
template <class T>
void diffaug_translate_forward(T* out, const T* x, const T* p, int64_t N, int64_t C, int64_t H, int64_t W);
template <class T>
void diffaug_translate_backward(T* dx, const T* dout, const T* p, int64_t N, int64_t C, int64_t H, int64_t W);

// Cutout: rows [r0,r1) x columns [c0,c1) set to 0, p (N,4) = (r0, r1, c0, c1). x, out (N,C,H,W).
template <class T>
void diffaug_cutout_forward(T* out, const T* x, const T* p, int64_t N, int64_t C, int64_t H, int64_t W);
template <class T>
void diffaug_cutout_backward(T* dx, const T* dout, const T* p, int64_t N, int64_t C, int64_t H, int64_t W);

}  // namespace cg::cpu
