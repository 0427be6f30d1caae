// Covers as PNG bytes in memory for HTTP answers: a row of images with a thin
// white gap, enlarged by whole pixels (nearest neighbour, so a 64x64 cover stays
// sharp), encoded with libpng at its fastest setting.
#pragma once
#include <cstdint>
#include <string>

#include "engine/tensor.h"

namespace cg::serve {

// images (N,3,S,S) f32 in [-1,1] on the host -> one PNG of the N images side by
// side (2-pixel white gaps between them), each pixel scale x scale.
std::string covers_png(const Tensor& images, int scale);

// RGB (H,W,3) u8 -> PNG bytes.
std::string encode_png(const uint8_t* rgb, int width, int height);

}  // namespace cg::serve
