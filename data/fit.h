// Fitting a cover to the training square: centre crop to the shorter side, then
// an area-averaging (antialiased) downscale, or a bilinear upscale for small
// images. Also a general separable resize used by the perceptual hash.
#pragma once
#include <cstdint>
#include <vector>

#include "data/image.h"

namespace cg::data {

// out (size,size,3) from rgb (height,width,3). Crop offsets are floor((w-m)/2), floor((h-m)/2).
void fit_square(uint8_t* out, int size, const uint8_t* rgb, int width, int height);
Image fit_square(const Image& src, int size);

// One axis of a separable resize: output o reads taps [first[o], first[o]+count[o])
// with weights w[offset[o] ...] summing to 1. Area coverage when src >= dst, bilinear
// (half-pixel centres, edges clamped) when src < dst.
struct AxisTaps {
  std::vector<int> first, count, offset;
  std::vector<float> w;
};
AxisTaps make_taps(int src, int dst);

// Resizes a (h,w,channels) float image to (oh,ow,channels) with make_taps on both axes.
void resize_float(float* out, int ow, int oh, const float* src, int w, int h, int channels);

}  // namespace cg::data
