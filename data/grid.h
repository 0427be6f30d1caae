// Sample grids: N images tiled into one PNG with a small gap, optionally with one
// row per genre and the genre's name drawn at the left of its row.
#pragma once
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace cg::data {

// images (N,3,H,W) f32 in [-1,1], any device. cols images per row. row_labels, when
// given, has one name per row, drawn in DejaVu Sans (data/chart). Written to a
// temporary name and renamed.
void write_grid_png(const std::string& path, const Tensor& images, int cols,
                    const std::vector<std::string>& row_labels = {}, int gap = 2);

// Writes one RGB image (H,W,3) uint8 as PNG (temporary name, then rename).
void write_png_rgb(const std::string& path, const uint8_t* rgb, int width, int height);

}  // namespace cg::data
