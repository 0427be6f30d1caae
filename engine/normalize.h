// Image batches between pixels and the model's float range: uint8 (B,H,W,C) as the
// data loader assembles them -> float (B,C,H,W) in [-1, 1] (x/127.5 - 1), with an
// optional per-image horizontal flip; and back to uint8 for sample grids. Not on
// the tape: inputs to the model, outputs for PNGs.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace cg {

// u8 (B,H,W,C) on any device -> f32 (B,C,H,W) on the same device. flip is empty (no
// flips) or has B entries; a nonzero entry mirrors that image left-right.
Tensor images_u8_to_f32(const Tensor& u8_bhwc_on_device, const std::vector<uint8_t>& flip = {});
// The data loader's path: u8 (B,H,W,C) pixels and B flip bytes (null: no flips), both
// already on out's device, into out, f32 (B,C,H,W) allocated by the caller.
void images_u8_to_f32_into(Tensor& out, const uint8_t* pixels_bhwc, const uint8_t* flips);
// As images_u8_to_f32, f64 on the CPU (gradient checks and tests).
Tensor images_u8_to_f64(const Tensor& u8_bhwc);
// f32 (any device) or f64 (CPU) (B,C,H,W) -> u8 (B,H,W,C) on the same device:
// round((x + 1) * 127.5), clamped to [0, 255]; NaN becomes 0.
Tensor images_f32_to_u8(const Tensor& bchw);

}  // namespace cg
