// Rows of the CUDA op table (op_table.h) for what is not a layer: the engine's own kernels
// (Philox, Adam, image conversion, fill and axpy) and the small-set recipe's ops (DiffAugment,
// the weight average, the resize-convolution projection). test_ops.cpp holds the layers' rows.
#include <cmath>
#include <tuple>

#include "cuda/op_table.h"
#include "engine/adam.h"
#include "engine/ema.h"
#include "engine/normalize.h"
#include "engine/philox.h"
#include "layers/conv_transpose2d.h"
#include "layers/diff_augment.h"
#include "support/check.h"

using namespace cg;

namespace cgtest {

// ---- the engine's own kernels: Philox, Adam, images, fill and axpy -----------------------

namespace {

using Ts = std::vector<Tensor>;

Inputs no_inputs() { return Inputs{}; }

// Philox: bits and uniforms from several (seed, offset) pairs, counts off a block
// boundary, and the stream's position after; normals to 1 ulp.
void add_philox(std::vector<OpCase>& t) {
  for (const auto& draw : {std::tuple<uint64_t, uint64_t, int64_t>{0, 0, 4}, {42, 1, 37}, {7, 3, (1 << 20) + 3},
                           {0xdeadbeefcafef00dull, (1ull << 33) + 2, 1001}}) {
    const uint64_t seed = std::get<0>(draw), offset = std::get<1>(draw);  // not bindings: lambdas capture them
    const int64_t n = std::get<2>(draw);
    OpCase c = simple("philox_bits+philox_uniform", detail::cat("seed ", seed, " offset ", offset, " n ", n), no_inputs,
                      [=](Tape*, Ts&, Device dev) -> Ts {
                        Philox g(seed, offset);
                        Tensor bits = Tensor::empty(Shape{n}, DType::i32, dev), u = Tensor::empty(Shape{n}, DType::f32, dev);
                        g.bits(bits);
                        g.uniform(u, -1.0, 1.0);
                        return {bits, u, Tensor::from({double(g.offset())}, Shape{1}, DType::f64)};
                      },
                      Tol::exact(), Tol::exact());
    t.push_back(c);
  }
  t.push_back(simple("philox_normal", "seed 2024 offset 6 n 2^20+1", no_inputs,
                     [](Tape*, Ts&, Device dev) -> Ts {
                       Philox g(2024, 6);
                       Tensor x = Tensor::empty(Shape{(1 << 20) + 1}, DType::f32, dev);
                       g.normal(x, 0.0, 0.02);
                       return {x};
                     },
                     Tol::ulps(1, 0.999), Tol::exact()));
}

// Adam: five steps over a flat store (a 1000x3 weight and a 7-bias, padded), one step's
// gradient 1000 times the others'.
void add_adam(std::vector<OpCase>& t) {
  OpCase adam = simple("adam_step", "(1000,3) + (7), 5 steps",
                       [] {
                         ParamStore ps;
                         ps.param("w", Shape{1000, 3});
                         ps.param("b", Shape{7});
                         ps.finalize(Device::cpu);
                         const Shape P = ps.flat().shape();
                         std::mt19937 rng(8);
                         Inputs in;
                         in.host.push_back(rnd(P, rng));
                         for (int k = 0; k < 5; ++k) in.host.push_back(rnd(P, rng, k == 2 ? 100.0 : 0.1));
                         in.grad.assign(in.host.size(), false);
                         return in;
                       },
                       [](Tape*, Ts& x, Device dev) -> Ts {
                         ParamStore ps;
                         ps.param("w", Shape{1000, 3});
                         ps.param("b", Shape{7});
                         ps.finalize(dev);
                         ps.flat().copy_(x[0]);
                         Adam opt(ps, AdamConfig{2e-3, 0.5, 0.999, 1e-8});
                         for (int k = 0; k < 5; ++k) {
                           ps.flat_grad().copy_(x[size_t(1 + k)]);
                           opt.step();
                         }
                         return {ps.flat(), opt.m(), opt.v()};
                       },
                       Tol::abs(1e-6, 1e-6), Tol::exact());
  adam.out = {Tol::abs(1e-6, 1e-6), Tol::abs(1e-6, 1e-5), Tol::abs(1e-6, 1e-5)};
  t.push_back(adam);
}

// Image normalisation both ways, bit for bit (kernels/common/normalize.h on both sides),
// and fill, axpy and zero over sizes from one element to past 2^22.
void add_images_and_fills(std::vector<OpCase>& t) {
  auto pixels = [] {
    Tensor px = Tensor::empty(Shape{5, 64, 64, 3}, DType::u8);
    Philox rng(1);
    for (int64_t i = 0; i < px.numel(); ++i) px.data<uint8_t>()[i] = static_cast<uint8_t>(rng.next_below(256));
    return Inputs{{px}, {false}, Tensor()};
  };
  t.push_back(simple("images_u8_to_f32", "(5,64,64,3) flips 1,0,0,1,1", pixels,
                     [](Tape*, Ts& x, Device) -> Ts { return {images_u8_to_f32(x[0], {1, 0, 0, 1, 1})}; }, Tol::exact(),
                     Tol::exact()));
  t.push_back(simple("images_u8_to_f32", "(5,64,64,3) no flips", pixels,
                     [](Tape*, Ts& x, Device) -> Ts { return {images_u8_to_f32(x[0])}; }, Tol::exact(), Tol::exact()));
  t.push_back(simple("images_f32_to_u8", "(2,3,17,9) values beyond [-1,1] and a NaN",
                     [] {
                       Tensor v = Tensor::empty(Shape{2, 3, 17, 9});
                       Philox(9).uniform(v, -1.3, 1.3);
                       v.data<float>()[5] = NAN;
                       return Inputs{{v}, {false}, Tensor()};
                     },
                     [](Tape*, Ts& x, Device) -> Ts { return {images_f32_to_u8(x[0])}; }, Tol::exact(), Tol::exact()));
  for (int64_t n : {int64_t{1}, int64_t{1000}, int64_t{(1 << 22) + 5}})
    t.push_back(simple("fill+axpy+zero", detail::cat("n ", n),
                       [=] {
                         Tensor x = Tensor::empty(Shape{n});
                         Philox(3).uniform(x, -2, 2);
                         return Inputs{{x}, {false}, Tensor()};
                       },
                       [=](Tape*, Ts& x, Device dev) -> Ts {
                         Tensor a = Tensor::full(Shape{n}, 0.75, DType::f32, dev);
                         a.add_(x[0], -1.5);
                         Tensor after_axpy = a.clone();
                         a.zero_();
                         return {after_axpy, a};
                       },
                       Tol::abs(1e-6, 1e-6), Tol::exact()));
}

// ---- the small-set recipe: DiffAugment, the weight average, resize-convolutions ----------

// DiffAugment: each op with its parameters drawn as training draws them (an input without
// gradient); the colour op reduces over each sample (a block reduction on CUDA). Two
// passes: the gradients accumulate.
void add_diffaug(std::vector<OpCase>& t) {
  for (const Shape& s : {Shape{32, 3, 32, 32}, Shape{128, 3, 64, 64}, Shape{3, 3, 7, 5}})
    for (const char* policy : {"color", "translation", "cutout", "color,translation,cutout"}) {
      const std::string op = policy == std::string("color,translation,cutout")
                                 ? "diffaug_color+diffaug_translate+diffaug_cutout"
                                 : std::string("diffaug_") + (policy == std::string("translation") ? "translate" : policy);
      const std::string pol = policy;
      t.push_back(simple(
          op.c_str(), detail::cat("x ", s.str(), " ", pol),
          [=] {
            std::mt19937 rng(seed_of(s, 11));
            Inputs in;
            in.host.push_back(rnd(s, rng));
            Philox p(5);
            const DiffAugDraw d = draw_diffaug(p, parse_diffaug_policy(pol), s[0], s[2], s[3], Device::cpu);
            for (const Tensor& q : {d.color, d.translation, d.cutout}) in.host.push_back(q.defined() ? q : Tensor::zeros(Shape{s[0], 1}));
            in.grad = {true, false, false, false};
            in.seed = rnd(s, rng);
            return in;
          },
          [=](Tape* tape, Ts& x, Device) -> Ts {
            const DiffAugPolicy p = parse_diffaug_policy(pol);
            DiffAugDraw d;
            if (p.color) d.color = x[1];
            if (p.translation) d.translation = x[2];
            if (p.cutout) d.cutout = x[3];
            return {diff_augment(tape, x[0], d)};
          },
          Tol::abs(1e-6, 1e-5), Tol::abs(1e-6, 1e-5), 2));
    }
}

// The weight average: five updates with the warm-up decays, then one of equal weights
// (which must leave them exactly); G's transposed convolutions kept to resize-convolutions
// (train --g-deconv resize).
void add_ema_and_resize(std::vector<OpCase>& t) {
  t.push_back(simple("ema_update", "(100003), 5 steps, then constant weights",
                     [] {
                       std::mt19937 rng(4);
                       return Inputs{{rnd(Shape{100003}, rng), rnd(Shape{100003}, rng)}, {false, false}, Tensor()};
                     },
                     [](Tape*, Ts& x, Device) -> Ts {
                       Tensor avg = x[0].clone();
                       for (int k = 0; k < 5; ++k) ema_update(avg, x[1], ema_decay_at(0.999, k));
                       Tensor same = x[1].clone();
                       ema_update(same, x[1], 0.999);
                       return {avg, same};
                     },
                     Tol::abs(1e-7, 1e-6), Tol::exact()));
  t.back().out = {Tol::abs(1e-7, 1e-6), Tol::exact()};
  // Whole, and a quarter of the checkerboard part (--g-deconv-strength 0.25).
  for (double strength : {1.0, 0.25})
    t.push_back(simple("project_resize_conv", detail::cat("(64,32,4,4) in place, strength ", strength),
                       [] {
                         std::mt19937 rng(5);
                         return Inputs{{rnd(Shape{64, 32, 4, 4}, rng)}, {false}, Tensor()};
                       },
                       [=](Tape*, Ts& x, Device) -> Ts {
                         Tensor w = x[0].clone();
                         project_resize_conv(w, strength);
                         return {w};
                       },
                       Tol::abs(1e-7, 1e-6), Tol::exact()));
}

}  // namespace

void add_engine_ops(std::vector<OpCase>& t) {
  add_philox(t);
  add_adam(t);
  add_images_and_fills(t);
}

void add_recipe_ops(std::vector<OpCase>& t) {
  add_diffaug(t);
  add_ema_and_resize(t);
}

}  // namespace cgtest
