// DiffAugment (Zhao, Liu, Lin, Zhu & Han 2020, "Differentiable Augmentation for
// Data-Efficient GAN Training"): random colour, translation and cutout applied to every
// image D sees, real and generated, as tape ops, so G's gradient flows through them.
// D then cannot memorise a small set, and G is not asked to produce the augmentations.
#pragma once
#include <string>

#include "engine/philox.h"
#include "engine/tape.h"

namespace cg {

struct DiffAugPolicy {
  bool color = false, translation = false, cutout = false;
  bool any() const { return color || translation || cutout; }
  std::string str() const;  // "color,translation,cutout" (the parts on)
};
// "" (none) or a comma list of color, translation, cutout; one sentence for anything else.
DiffAugPolicy parse_diffaug_policy(const std::string& text);

// One batch's random parameters, host values placed on the images' device (undefined
// when that part of the policy is off): color (N,3) brightness offset U(-0.5,0.5),
// saturation factor U(0,2), contrast factor U(0.5,1.5); translation (N,2) whole-pixel
// shifts in [-S/8, S/8]; cutout (N,4) a square of half the side, rows [r0,r1) x columns [c0,c1),
// as the reference code draws them.
struct DiffAugDraw {
  Tensor color, translation, cutout;
  bool any() const { return color.defined() || translation.defined() || cutout.defined(); }
};
DiffAugDraw draw_diffaug(Philox& rng, const DiffAugPolicy& policy, int64_t N, int64_t H, int64_t W, Device device,
                         DType dtype = DType::f32);

// The three ops (x (N,C,H,W) -> same shape) and their composition in the reference order.
Tensor diffaug_color(Tape* tape, const Tensor& x, const Tensor& params);
Tensor diffaug_translate(Tape* tape, const Tensor& x, const Tensor& params);
Tensor diffaug_cutout(Tape* tape, const Tensor& x, const Tensor& params);
Tensor diff_augment(Tape* tape, const Tensor& x, const DiffAugDraw& d);

}  // namespace cg
