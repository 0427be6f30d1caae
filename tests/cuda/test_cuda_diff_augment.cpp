// CUDA against the CPU (both float) for the small-set recipe's ops: DiffAugment's
// colour (a block reduction per sample), translation and cutout, forward and
// accumulated backward, at the demo's and the paper's sizes; the weight average.
#include <random>

#include "engine/ema.h"
#include "layers/diff_augment.h"
#include "support/check.h"
#include "support/skip.h"

using namespace cg;

namespace {

struct Result {
  Tensor out, dx;
};

// Two passes on one input: the output, and the gradient after both (accumulation).
Result run(Device dev, const Tensor& x_host, const DiffAugDraw& host_draw, const Tensor& dy_host) {
  Tensor x = x_host.to(dev);
  if (x.same(x_host)) x = x.clone();
  x.set_requires_grad(true);
  DiffAugDraw d;
  if (host_draw.color.defined()) d.color = host_draw.color.to(dev);
  if (host_draw.translation.defined()) d.translation = host_draw.translation.to(dev);
  if (host_draw.cutout.defined()) d.cutout = host_draw.cutout.to(dev);
  Result r;
  for (int pass = 0; pass < 2; ++pass) {
    Tape tape;
    const Tensor y = diff_augment(&tape, x, d);
    tape.backward(y, dy_host.to(dev));
    r.out = y.to(Device::cpu);
  }
  r.dx = x.grad().to(Device::cpu);
  return r;
}

}  // namespace

TEST_CASE("cuda DiffAugment matches the CPU: forward and accumulated gradients, every policy") {
  CG_SKIP_WITHOUT_CUDA();
  for (const Shape& s : {Shape{32, 3, 32, 32}, Shape{128, 3, 64, 64}, Shape{3, 3, 7, 5}}) {
    for (const char* policy : {"color", "translation", "cutout", "color,translation,cutout"}) {
      INFO("shape " << s.str() << ", policy " << policy);
      std::mt19937 rng(uint32_t(s.numel()));
      const Tensor x = cgtest::random_tensor(s, rng, 1.0, DType::f32), dy = cgtest::random_tensor(s, rng, 1.0, DType::f32);
      Philox p(5);
      const DiffAugDraw d = draw_diffaug(p, parse_diffaug_policy(policy), s[0], s[2], s[3], Device::cpu);
      const Result c = run(Device::cpu, x, d, dy), g = run(Device::cuda, x, d, dy);
      CHECK_CLOSE_T(g.out, c.out, 1e-5, 1e-5);
      CHECK_CLOSE_T(g.dx, c.dx, 1e-5, 1e-5);
    }
  }
}

TEST_CASE("cuda weight average matches the CPU and keeps constant weights exactly") {
  CG_SKIP_WITHOUT_CUDA();
  std::mt19937 rng(4);
  const Tensor a = cgtest::random_tensor(Shape{100003}, rng, 1.0, DType::f32);
  const Tensor w = cgtest::random_tensor(Shape{100003}, rng, 1.0, DType::f32);
  Tensor ac = a.clone(), ag = a.to(Device::cuda);
  const Tensor wg = w.to(Device::cuda);
  for (int t = 0; t < 5; ++t) ema_update(ac, w, ema_decay_at(0.999, t)), ema_update(ag, wg, ema_decay_at(0.999, t));
  CHECK_CLOSE_T(ag.to(Device::cpu), ac, 1e-7, 1e-6);  // nvcc may fuse the multiply-add
  Tensor same = w.to(Device::cuda);
  ema_update(same, wg, 0.999);
  CHECK_CLOSE_T(same.to(Device::cpu), w, 0, 0);
}
