// What D sees instead of a batch of images, for the small-set recipe (docs/TRAINING.md):
// DiffAugment (layers/diff_augment.h), then instance noise (Gaussian, its std falling
// linearly to 0). The trainer draws one DInput per D call of an iteration (real, fake in
// the D step, fake in the G step) from the run's random stream, so a resume reproduces them.
#pragma once
#include "engine/philox.h"
#include "engine/tape.h"
#include "gan/config.h"
#include "layers/diff_augment.h"

namespace cg::gan {

struct DInput {
  DiffAugDraw aug;  // nothing drawn: no augmentation
  Tensor noise;     // (B,3,S,S) already scaled by its std; undefined: none
  bool any() const { return aug.any() || noise.defined(); }
};

// x as D sees it: augmented, then noised; x itself when in holds nothing.
Tensor d_input(Tape* tape, const Tensor& x, const DInput& in);

// The instance noise's std at an iteration (0-based): instance_noise * (1 - step/steps),
// never below 0; constant when instance_noise_steps is 0.
double instance_noise_std(const TrainConfig& cfg, int64_t step);

// Draws one D call's input transform for a batch of B images (nothing, and no draws,
// when the recipe has neither augmentation nor noise).
DInput draw_d_input(Philox& rng, const TrainConfig& cfg, const DiffAugPolicy& policy, int64_t step, int64_t B,
                    Device device, DType dtype = DType::f32);

}  // namespace cg::gan
