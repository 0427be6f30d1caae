// The D-input transform of the small-set recipe (see augment.h).
#include "gan/augment.h"

#include <algorithm>

#include "layers/shape_ops.h"

namespace cg::gan {

Tensor d_input(Tape* tape, const Tensor& x, const DInput& in) {
  Tensor y = diff_augment(tape, x, in.aug);
  if (in.noise.defined()) y = weighted_sum(tape, {y, in.noise}, {1.0, 1.0});
  return y;
}

double instance_noise_std(const TrainConfig& cfg, int64_t step) {
  if (cfg.instance_noise <= 0) return 0;
  if (cfg.instance_noise_steps <= 0) return cfg.instance_noise;
  return cfg.instance_noise * std::max(0.0, 1.0 - double(step) / double(cfg.instance_noise_steps));
}

DInput draw_d_input(Philox& rng, const TrainConfig& cfg, const DiffAugPolicy& policy, int64_t step, int64_t B,
                    Device device, DType dtype) {
  DInput in;
  const int64_t S = cfg.model.image_size;
  in.aug = draw_diffaug(rng, policy, B, S, S, device, dtype);
  const double sigma = instance_noise_std(cfg, step);
  if (sigma > 0) {
    in.noise = Tensor::empty(Shape{B, 3, S, S}, dtype, device);
    rng.normal(in.noise, 0.0, sigma);
  }
  return in;
}

}  // namespace cg::gan
