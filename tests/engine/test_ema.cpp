// The exponential moving average of weights: an average of constant weights is those
// weights, bit for bit; a moving sequence gives the closed form; the warm-up decay; the
// ParamStore form covers the buffers (BatchNorm statistics) too.
#include <cmath>

#include "engine/ema.h"
#include "support/check.h"

using namespace cg;

TEST_CASE("an EMA of constant weights is those weights, exactly") {
  for (DType dt : {DType::f32, DType::f64}) {
    const std::vector<double> w = {0.1, -3.7, 1e-8, 12345.678, -0.0, 0.3333333};
    Tensor avg = Tensor::from(w, Shape{6}, dt), cur = Tensor::from(w, Shape{6}, dt);
    for (int t = 0; t < 1000; ++t) ema_update(avg, cur, ema_decay_at(0.999, t));
    CHECK_CLOSE_T(avg.to_vector(), cur.to_vector(), 0, 0);
  }
  // A store and its twin: parameters and buffers alike.
  ParamStore a, b;
  for (ParamStore* s : {&a, &b}) {
    s->param("G.w", Shape{3, 5});
    s->buffer("G.bn.running_var", Shape{4});
    s->finalize(Device::cpu);
  }
  std::mt19937 rng(2);
  a.flat().copy_(cgtest::random_tensor(a.flat().shape(), rng, 1.0, DType::f32));
  a.flat_buffers().copy_(cgtest::random_tensor(a.flat_buffers().shape(), rng, 1.0, DType::f32));
  b.flat().copy_(a.flat());
  b.flat_buffers().copy_(a.flat_buffers());
  for (int t = 0; t < 50; ++t) ema_update(b, a, 0.9);
  CHECK_CLOSE_T(b.flat().to_vector(), a.flat().to_vector(), 0, 0);
  CHECK_CLOSE_T(b.flat_buffers().to_vector(), a.flat_buffers().to_vector(), 0, 0);
}

TEST_CASE("an EMA follows the closed form, and its decay warms up") {
  Tensor avg = Tensor::from({0.0, 2.0}, Shape{2}, DType::f64);
  const double d = 0.9;
  double ref0 = 0.0, ref1 = 2.0;
  for (int t = 1; t <= 30; ++t) {
    const Tensor w = Tensor::from({double(t), -double(t)}, Shape{2}, DType::f64);
    ema_update(avg, w, d);
    ref0 = d * ref0 + (1 - d) * t;
    ref1 = d * ref1 + (1 - d) * -t;
  }
  CHECK_CLOSE_T(avg.to_vector(), (std::vector<double>{ref0, ref1}), 1e-12, 1e-12);
  CHECK(ema_decay_at(0.999, 0) == doctest::Approx(0.1));
  CHECK(ema_decay_at(0.999, 90) == doctest::Approx(0.91));
  CHECK(ema_decay_at(0.999, 1000000) == 0.999);
  // The warm-up's end: the first update at the full decay, the one before still below it.
  for (double d : {0.0, 0.5, 0.9, 0.99, 0.995, 0.999, 0.9995, 0.9999}) {
    CAPTURE(d);
    const int64_t t = ema_warmup_updates(d);
    CHECK(ema_decay_at(d, t) == d);
    if (t > 0) CHECK(ema_decay_at(d, t - 1) < d);
  }
  CHECK(ema_warmup_updates(0.999) == 8990);  // (1+8990)/(10+8990) = 0.999: a 3000-step run ends below it
  CHECK(ema_decay_at(0.999, 2999) == doctest::Approx(0.997));
  Tensor bad = Tensor::zeros(Shape{3});
  CHECK_THROWS_AS(ema_update(bad, Tensor::zeros(Shape{2}), 0.5), Error);
}
