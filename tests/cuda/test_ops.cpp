// The CUDA op table: every op the layers and the engine run on a GPU, one row per op and
// set of shapes with its tolerance, each run by check_case (op_table.h) on the CPU and on
// CUDA and compared (outputs, every input gradient, inputs the op changes). Adding an op
// to the GPU tests is adding a row below (op_rows_engine.cpp holds the engine's kernels and
// the small-set recipe's ops). Shapes include the paper's layers (batch 4 or 8,
// and 128 where memory is small) and odd ones (batch 1, H != W, kernels 1 to 5).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <tuple>

#include "cuda/op_table.h"
#include "engine/philox.h"
#include "gan/discriminator.h"
#include "gan/generator.h"
#include "layers/activations.h"
#include "layers/batchnorm2d.h"
#include "layers/cast.h"
#include "layers/conv2d.h"
#include "layers/conv_transpose2d.h"
#include "layers/dropout.h"
#include "layers/diff_augment.h"
#include "layers/linear.h"
#include "layers/losses.h"
#include "kernels/common/spectral.h"
#include "layers/shape_ops.h"
#include "layers/spectral_loss.h"
#include "support/check.h"
#include "support/skip.h"

using namespace cg;
using namespace cgtest;

namespace {

using Ts = std::vector<Tensor>;

// Per precision, as ||cuda - cpu|| / ||cpu|| and per element against max|cpu|: strict FP32
// far under 1e-3; TF32 (10-bit operands) about 3e-4; bf16 (8-bit activations and
// operands, FP32 accumulation) within 1e-2.
const Tol kTf32 = Tol::of_max(1e-2, 1e-2, 1e-3);
const Tol kBf16 = Tol::of_max(4e-2, 4e-2, 1e-2);

// The op in the activations' dtype of the precision it runs under (bf16 on CUDA under
// Precision::bf16, f32 elsewhere): input 0 converted on the way in, output 0 back to f32,
// both as tape ops, so the gradient of the f32 input is compared as in any other row.
OpFn in_activation_dtype(OpFn inner) {
  return [inner](Tape* tape, Ts& x, Device dev) -> Ts {
    Ts xs = x;
    xs[0] = to_dtype(tape, x[0], activation_dtype(dev));
    Ts out = inner(tape, xs, dev);
    out[0] = to_dtype(tape, out[0], DType::f32);
    return out;
  };
}

// ---- convolutions ----------------------------------------------------------------

struct Conv {
  int64_t N, C, H, W, OC, K, stride, pad;
};
// The paper's layers at batch 4, and odd sizes: batch 1, H != W, kernels 1/3/4/5,
// strides 1/2/3, paddings 0/1/2 (and a padding larger than the kernel).
const Conv kPaperConv[] = {{4, 3, 64, 64, 128, 4, 2, 1}, {4, 128, 32, 32, 256, 4, 2, 1},
                           {4, 256, 16, 16, 512, 4, 2, 1}, {4, 512, 8, 8, 1024, 4, 2, 1}};
const Conv kPaperTconv[] = {{4, 1024, 4, 4, 512, 4, 2, 1}, {4, 512, 8, 8, 256, 4, 2, 1},
                            {4, 256, 16, 16, 128, 4, 2, 1}, {4, 128, 32, 32, 3, 4, 2, 1}};
const Conv kOdd[] = {{1, 3, 7, 5, 4, 3, 1, 1},   {2, 5, 9, 11, 3, 5, 3, 2}, {3, 4, 6, 6, 2, 1, 1, 0},
                     {2, 3, 13, 10, 6, 4, 2, 1}, {1, 1, 1, 1, 1, 1, 1, 0},  {2, 2, 4, 3, 2, 1, 2, 2},
                     {5, 17, 9, 7, 33, 3, 2, 0}};
// Per element against max|cpu| (outputs are sums of C*K*K products); TF32 rounds operands to 10 bits.
const Tol kConvStrict = Tol::of_max(1e-5, 1e-4, 1e-5);
const Tol kConvTf32 = Tol::of_max(3e-3, 1e-2, 1e-3);
const Tol kConvBf16 = Tol::of_max(3e-2, 3e-2, 1e-2);

struct ConvGrads {
  bool x = true, w = true, bias = true, db = true;
};

// leaky >= 0: conv2d_leaky_relu (D.conv1's convolution with its LeakyReLU fused in).
// groups > 1 (conv2d only): the batch as equal groups, D's real and generated halves.
void add_conv(std::vector<OpCase>& t, bool transposed, const Conv& k, Precision math, ConvGrads g = {},
              double leaky = -1, int groups = 1) {
  OpCase c;
  c.op = transposed ? "conv_transpose2d" : leaky >= 0 ? "conv2d_leaky_relu" : "conv2d";
  c.shapes = detail::cat("x (", k.N, ",", k.C, ",", k.H, ",", k.W, ") OC ", k.OC, " K ", k.K, " stride ", k.stride,
                         " pad ", k.pad, g.x ? "" : " no dx", g.w ? "" : " no dw", g.bias ? (g.db ? "" : " no db") : " no bias",
                         groups > 1 ? detail::cat(" ", groups, " groups") : std::string());
  c.make = [=] {
    std::mt19937 rng(static_cast<uint32_t>(k.N * 7919 + k.C * 104729 + k.H * 31 + k.K));
    const Shape ws = transposed ? Shape{k.C, k.OC, k.K, k.K} : Shape{k.OC, k.C, k.K, k.K};
    const auto out_size = [&](int64_t n) {
      return transposed ? (n - 1) * k.stride - 2 * k.pad + k.K : (n + 2 * k.pad - k.K) / k.stride + 1;
    };
    Inputs in;
    in.host = {rnd(Shape{k.N, k.C, k.H, k.W}, rng), rnd(ws, rng, 1.0 / std::sqrt(double(k.C * k.K * k.K))),
               g.bias ? rnd(Shape{k.OC}, rng) : Tensor()};
    in.grad = {g.x, g.w, g.bias && g.db};
    in.seed = rnd(Shape{k.N, k.OC, out_size(k.H), out_size(k.W)}, rng);
    return in;
  };
  c.fn = in_activation_dtype([=](Tape* tape, Ts& x, Device) -> Ts {
    if (leaky >= 0) return {conv2d_leaky_relu(tape, x[0], x[1], x[2], int(k.stride), int(k.pad), leaky, groups)};
    return {transposed ? conv_transpose2d(tape, x[0], x[1], x[2], int(k.stride), int(k.pad))
                       : conv2d(tape, x[0], x[1], x[2], int(k.stride), int(k.pad), groups)};
  });
  c.out = c.grad = {math == Precision::bf16 ? kConvBf16 : math == Precision::tf32 ? kConvTf32 : kConvStrict};
  c.passes = 2;
  c.precision = math;
  t.push_back(c);
}

void add_convolutions(std::vector<OpCase>& t) {
  for (const Conv& k : kPaperConv) add_conv(t, false, k, Precision::fp32);
  for (const Conv& k : kOdd) add_conv(t, false, k, Precision::fp32);
  for (const Conv& k : kPaperTconv) add_conv(t, true, k, Precision::fp32);
  for (const Conv& k : kOdd) add_conv(t, true, k, Precision::fp32);
  for (bool tr : {false, true}) {
    const Conv k{3, 8, 8, 8, 16, 4, 2, 1};
    add_conv(t, tr, k, Precision::fp32, {true, false, true, false});   // the G step through D: frozen weights
    add_conv(t, tr, k, Precision::fp32, {false, true, true, true});    // real images: no input gradient
    add_conv(t, tr, k, Precision::fp32, {true, true, false, false});   // no bias
    add_conv(t, tr, k, Precision::fp32, {false, false, true, false});  // forward only: nothing recorded
  }
  for (const Conv& k : kPaperConv) add_conv(t, false, k, Precision::tf32);
  for (const Conv& k : kPaperTconv) add_conv(t, true, k, Precision::tf32);
  add_conv(t, false, kOdd[1], Precision::tf32);
  add_conv(t, true, kOdd[3], Precision::tf32);
  for (const Conv& k : kPaperConv) add_conv(t, false, k, Precision::bf16);
  for (const Conv& k : kPaperTconv) add_conv(t, true, k, Precision::bf16);
  add_conv(t, false, kOdd[3], Precision::bf16);
  add_conv(t, true, kOdd[6], Precision::bf16);
  add_conv(t, false, {3, 8, 8, 8, 16, 4, 2, 1}, Precision::bf16, {true, false, true, false});
  // D's real and generated halves as one batch: the weight gradient one half at a time.
  add_conv(t, false, {4, 8, 8, 8, 16, 4, 2, 1}, Precision::fp32, {true, true, false, false}, -1, 2);
  add_conv(t, false, {4, 3, 16, 16, 4, 4, 2, 1}, Precision::fp32, {false, true, true, true}, 0.2, 2);
  // conv2d_leaky_relu against the CPU on a small shape (an output within rounding of 0
  // could take the other slope on the other device: improbable with 256 of them), then at
  // D.conv1's shape against conv2d and leaky_relu on the same GPU (the same outputs).
  for (const ConvGrads& g : {ConvGrads{}, ConvGrads{true, false, true, false}, ConvGrads{false, true, true, true}})
    add_conv(t, false, {2, 3, 16, 16, 4, 4, 2, 1}, Precision::fp32, g, 0.2);
  for (Precision math : {Precision::fp32, Precision::bf16}) {
    add_conv(t, false, kPaperConv[0], math, {}, 0.2);
    OpCase& c = t.back();
    c.shapes += " vs unfused on cuda";
    c.cuda_reference = in_activation_dtype([k = kPaperConv[0]](Tape* tape, Ts& x, Device) -> Ts {
      return {leaky_relu(tape, conv2d(tape, x[0], x[1], x[2], int(k.stride), int(k.pad)), 0.2)};
    });
    c.out = c.grad = {Tol::abs(1e-6, 1e-6)};
  }
}

// ---- linear ------------------------------------------------------------------------

void add_linear(std::vector<OpCase>& t, int64_t B, int64_t C, int64_t OC, std::vector<bool> grad, bool bias,
                int passes, Precision math = Precision::fp32) {
  OpCase c;
  c.op = "linear";
  c.shapes = detail::cat("x (", B, ",", C, ") w (", OC, ",", C, ")", bias ? "" : " no bias",
                         grad[1] ? "" : " frozen weight");
  c.make = [=] {
    std::mt19937 rng(static_cast<uint32_t>(B * C + OC));
    Inputs in;
    in.host = {rnd(Shape{B, C}, rng), rnd(Shape{OC, C}, rng, 0.1), bias ? rnd(Shape{OC}, rng) : Tensor()};
    in.grad = grad;
    in.grad[2] = in.grad[2] && bias;
    in.seed = rnd(Shape{B, OC}, rng);
    return in;
  };
  c.fn = [](Tape* tape, Ts& x, Device) -> Ts { return {linear(tape, x[0], x[1], x[2])}; };
  // Each output sums C products, each input gradient OC, each weight gradient B (times passes).
  const double tol = 1e-5 * std::sqrt(double(C));
  c.out = {math != Precision::fp32 ? kTf32 : Tol::abs(tol, 1e-5)};
  c.grad = {math != Precision::fp32 ? kTf32 : Tol::abs(3 * tol * std::sqrt(double(B)), 1e-5)};
  c.passes = passes;
  c.precision = math;
  t.push_back(c);
}

void add_linears(std::vector<OpCase>& t) {
  for (auto [B, C, OC] : {std::tuple<int64_t, int64_t, int64_t>{16, 100, 512}, {8, 16384, 8}, {3, 5, 4}}) {
    add_linear(t, B, C, OC, {true, true, true}, true, 2);   // two passes accumulate (cuBLAS beta = 1)
    add_linear(t, B, C, OC, {true, false, true}, true, 2);  // a frozen weight: no gradient buffer at all
  }
  add_linear(t, 8, 100, 1024, {false, true, false}, false, 1);  // G.fc: no bias, z needs no gradient
  add_linear(t, 64, 256, 128, {true, true, true}, true, 1, Precision::tf32);
  add_linear(t, 128, 16384, 5, {true, true, true}, true, 1, Precision::bf16);  // the heads stay FP32 (TF32) under bf16
}

// ---- batch norm ----------------------------------------------------------------------

// BatchNorm: dx is O(1) per element; dgamma and dbeta are sums over N*H*W float terms.
const std::vector<Tol> kBnGrad = {Tol::abs(2e-5, 1e-4), Tol::abs(1e-3, 1e-4), Tol::abs(1e-3, 1e-4)};

Inputs bn_inputs(const Shape& s, std::vector<bool> grad, bool running, double x_scale, double x_shift,
                 double rm_scale, double rv_scale, uint32_t salt) {
  std::mt19937 rng(seed_of(s, salt));
  const int64_t C = s[1];
  Inputs in;
  in.host = {rnd(s, rng, x_scale, x_shift), rnd(Shape{C}, rng, 1.0, 1.0), rnd(Shape{C}, rng),
             running ? rnd(Shape{C}, rng, rm_scale) : Tensor(), running ? rnd(Shape{C}, rng, rv_scale, 1.0) : Tensor()};
  grad.resize(5, false);
  in.grad = grad;
  in.seed = rnd(s, rng);
  return in;
}

OpCase bn_row(const char* op, const Shape& s, const std::string& extra, std::function<Inputs()> make, OpFn fn,
              int passes) {
  OpCase c;
  c.op = op;
  c.shapes = "x " + s.str() + extra;
  c.make = std::move(make);
  c.fn = std::move(fn);
  c.out = {Tol::abs(2e-5, 1e-4)};
  c.grad = kBnGrad;
  c.passes = passes;  // two: the running statistics move twice and the gradients accumulate
  return c;
}

void add_batch_norms(std::vector<OpCase>& t) {
  for (bool training : {true, false}) {
    const std::vector<Shape> shapes =
        training ? std::vector<Shape>{{8, 256, 16, 16}, {8, 1024, 4, 4}, {3, 5, 7, 3}, {1, 3, 2, 2}, {16, 6}, {128, 1024, 4, 4}}
                 : std::vector<Shape>{{8, 256, 16, 16}, {2, 7, 3, 5}, {1, 4, 1, 1}, {5, 9}};
    for (const Shape& s : shapes)
      t.push_back(bn_row(
          "batch_norm2d", s, training ? " training" : " eval",
          [=] { return bn_inputs(s, {true, true, true}, true, training ? 2.0 : 2.0, training ? 0.5 : 0.0,
                                 training ? 0.3 : 0.5, training ? 0.3 : 0.4, training ? 0 : 1); },
          [=](Tape* tape, Ts& x, Device) -> Ts { return {batch_norm2d(tape, x[0], x[1], x[2], x[3], x[4], training)}; },
          2));
  }
  // Frozen parameters (the G step through D's BN) or a frozen input; no running statistics.
  const Shape s{4, 32, 8, 8};
  for (const std::vector<bool>& g : {std::vector<bool>{true, false, false}, {false, true, true}, {false, true, false}})
    t.push_back(bn_row(
        "batch_norm2d", s, detail::cat(" grads x ", g[0], " gamma ", g[1], " beta ", g[2]),
        [=] { return bn_inputs(s, g, false, 1.5, 0.0, 0, 0, 9); },
        [](Tape* tape, Ts& x, Device) -> Ts { return {batch_norm2d(tape, x[0], x[1], x[2], Tensor(), Tensor(), true)}; },
        1));
}

void add_batch_norm_acts(std::vector<OpCase>& t) {
  for (bool training : {true, false})
    for (double slope : {0.0, 0.2}) {
      const std::string mode = detail::cat(training ? " training" : " eval", " slope ", slope);
      OpFn fused = [=](Tape* tape, Ts& x, Device) -> Ts {
        return {batch_norm2d_act(tape, x[0], x[1], x[2], x[3], x[4], training, 0.1, 1e-5, slope)};
      };
      // Against the CPU on small shapes: a normalised value within rounding of 0 could take
      // the other branch on the other device, which is improbable with a few hundred values.
      for (const Shape& s : {Shape{3, 5, 7, 3}, Shape{16, 6}, Shape{2, 8, 4, 4}})
        t.push_back(bn_row("batch_norm2d_act", s, mode,
                           [=] { return bn_inputs(s, {true, true, true}, true, 2.0, 0.5, 0.3, 0.3, 5); }, fused, 2));
      // At the paper's shapes, against the unfused ops on the same GPU (same statistics).
      for (const Shape& s : {Shape{8, 256, 16, 16}, Shape{128, 1024, 4, 4}}) {
        OpCase c = bn_row("batch_norm2d_act", s, mode + " vs unfused on cuda",
                          [=] { return bn_inputs(s, {true, true, true}, true, 2.0, 0.5, 0.3, 0.3, 6); }, fused, 1);
        c.cuda_reference = [=](Tape* tape, Ts& x, Device) -> Ts {
          const Tensor y = batch_norm2d(tape, x[0], x[1], x[2], x[3], x[4], training);
          return {slope == 0.0 ? relu(tape, y) : leaky_relu(tape, y, slope)};
        };
        c.out = {Tol::abs(1e-6, 1e-6)};
        c.grad = {Tol::abs(1e-5, 1e-5)};
        t.push_back(c);
      }
      // bf16 activations (FP32 statistics, gamma and beta) at the paper's shapes.
      for (const Shape& s : {Shape{8, 256, 16, 16}, Shape{16, 1024, 4, 4}}) {
        OpCase c = bn_row("batch_norm2d_act", s, mode, [=] { return bn_inputs(s, {true, true, true}, true, 2.0, 0.5, 0.3, 0.3, 7); },
                          in_activation_dtype(fused), 2);
        c.precision = Precision::bf16;
        c.out = c.grad = {kBf16};
        t.push_back(c);
      }
    }
  // D's real and generated halves as one batch: each half's statistics, against the CPU.
  for (const Shape& s : {Shape{6, 5, 7, 3}, Shape{4, 8, 4, 4}})
    t.push_back(bn_row("batch_norm2d_act", s, " training slope 0.2, 2 groups",
                       [=] { return bn_inputs(s, {true, true, true}, true, 2.0, 0.5, 0.3, 0.3, 10); },
                       [](Tape* tape, Ts& x, Device) -> Ts {
                         return {batch_norm2d_act(tape, x[0], x[1], x[2], x[3], x[4], true, 0.1, 1e-5, 0.2, 2)};
                       },
                       2));
  const Shape s{8, 64, 8, 8};
  OpCase c = bn_row("batch_norm2d", s, " training", [=] { return bn_inputs(s, {true, true, true}, true, 2.0, 0.5, 0.3, 0.3, 8); },
                    in_activation_dtype([](Tape* tape, Ts& x, Device) -> Ts {
                      return {batch_norm2d(tape, x[0], x[1], x[2], x[3], x[4], true)};
                    }),
                    2);
  c.precision = Precision::bf16;
  c.out = c.grad = {kBf16};
  t.push_back(c);
}

// ---- pointwise, losses, shapes -----------------------------------------------------------

// One input x (scaled), a random dout, a gradient wanted.
std::function<Inputs()> one_input(Shape s, double scale) {
  return [=] {
    std::mt19937 rng(seed_of(s));
    Inputs in;
    in.host = {rnd(s, rng, scale)};
    in.grad = {true};
    in.seed = rnd(s, rng);
    return in;
  };
}

void add_activations(std::vector<OpCase>& t) {
  const std::pair<const char*, OpFn> ops[] = {
      {"relu", [](Tape* tape, Ts& x, Device) -> Ts { return {relu(tape, x[0])}; }},
      {"leaky_relu", [](Tape* tape, Ts& x, Device) -> Ts { return {leaky_relu(tape, x[0], 0.2)}; }},
      {"tanh", [](Tape* tape, Ts& x, Device) -> Ts { return {cg::tanh(tape, x[0])}; }},
      {"sigmoid", [](Tape* tape, Ts& x, Device) -> Ts { return {cg::sigmoid(tape, x[0])}; }},
  };
  for (const auto& [name, fn] : ops) {
    for (const Shape& s : {Shape{8, 128, 32, 32}, Shape{8, 3, 64, 64}, Shape{3, 5, 7}, Shape{1}})
      t.push_back(simple(name, "x " + s.str(), one_input(s, 6.0), fn, Tol::abs(1e-6, 1e-5), Tol::abs(1e-6, 1e-5), 2));
    OpCase c = simple(name, "x (8,128,32,32)", one_input(Shape{8, 128, 32, 32}, 6.0), in_activation_dtype(fn), kBf16,
                      kBf16, 2);
    c.precision = Precision::bf16;
    t.push_back(c);
  }
  // The conversions themselves: the same rounding (kernels/common/bf16.h) on both devices.
  t.push_back(simple("cast", "(8,3,64,64) f32 -> bf16 -> f32, values over 20 binades", one_input(Shape{8, 3, 64, 64}, 1e6),
                     [](Tape* tape, Ts& x, Device) -> Ts {
                       return {to_dtype(tape, to_dtype(tape, x[0], DType::bf16), DType::f32)};
                     },
                     Tol::exact(), Tol::exact(), 2));
}

void add_losses(std::vector<OpCase>& t) {
  // BCE on logits (N,1) with soft targets, CE over K genres, MSE on the codes, joined as
  // the AC-GAN joins them, with an upstream weight on each.
  for (int64_t N : {1, 7, 128, 4096})
    t.push_back(simple(
        "bce_with_logits+cross_entropy+mse", detail::cat("batch ", N, " genres 5 codes 2"),
        [=] {
          std::mt19937 rng(static_cast<uint32_t>(N));
          std::vector<int32_t> lab;
          for (int64_t i = 0; i < N; ++i) lab.push_back(static_cast<int32_t>((i * 3 + 1) % 5));
          Inputs in;
          in.host = {rnd(Shape{N, 1}, rng, 20.0), rnd(Shape{N}, rng, 0.5, 0.5), rnd(Shape{N, 5}, rng, 10.0),
                     Tensor::from_labels(lab),      rnd(Shape{N, 2}, rng),         rnd(Shape{N, 2}, rng)};
          in.grad = {true, false, true, false, true, false};
          return in;
        },
        [](Tape* tape, Ts& x, Device) -> Ts {
          return {weighted_sum(tape, {bce_with_logits(tape, x[0], x[1]), cross_entropy(tape, x[2], x[3]), mse(tape, x[4], x[5])},
                               {1.5, 0.75, 2.0})};
        },
        Tol::abs(1e-6, 1e-4), Tol::abs(1e-7, 1e-4), 2));
  // One loss over many elements: the GPU's reduction against the CPU's double sum.
  const Shape big{8, 3, 64, 64};
  t.push_back(simple(
      "mse", "x " + big.str(),
      [=] {
        std::mt19937 rng(77);
        return Inputs{{rnd(big, rng), rnd(big, rng)}, {true, false}, Tensor()};
      },
      [](Tape* tape, Ts& x, Device) -> Ts { return {mse(tape, x[0], x[1])}; }, Tol::abs(1e-6, 1e-4), Tol::abs(1e-9, 1e-4)));
  // Logits of +-100: the stable forms stay finite and agree.
  t.push_back(simple(
      "bce_with_logits+cross_entropy", "logits +-100",
      [] {
        Inputs in;
        in.host = {Tensor::from({100, -100, -100, 100}, Shape{4}), Tensor::from({1, 0, 1, 0}, Shape{4}),
                   Tensor::from({100, -100, -100, 100}, Shape{2, 2}), Tensor::from_labels({0, 0})};
        in.grad = {true, false, true, false};
        return in;
      },
      [](Tape* tape, Ts& x, Device) -> Ts {
        return {weighted_sum(tape, {bce_with_logits(tape, x[0], x[1]), cross_entropy(tape, x[2], x[3])}, {1.0, 1.0})};
      },
      Tol::abs(1e-6, 1e-6), Tol::abs(1e-7, 1e-6)));
  // G's spectral term at the model's sizes: the DFT by twiddles on the GPU against the CPU's
  // tables, the loss from ring 4 (train --g-spectral's default) against ln powers near the
  // images' own (pixels on [-1, 1] have ring powers of 1e-4 to 1).
  for (const auto& [N, S] : {std::pair<int64_t, int64_t>{32, 32}, {8, 64}, {3, 9}})
    t.push_back(simple(
        "spectral_loss", detail::cat("(", N, ",3,", S, ",", S, ") 5 genres, rings from 4"),
        [=] {
          std::mt19937 rng(static_cast<uint32_t>(N * S));
          std::vector<int32_t> lab;
          for (int64_t i = 0; i < N; ++i) lab.push_back(static_cast<int32_t>((i * 3 + 1) % 5));
          const int64_t R = cg::common::spectral_rings(int(S));
          Inputs in;
          in.host = {rnd(Shape{N, 3, S, S}, rng), Tensor::from_labels(lab), rnd(Shape{5, R}, rng, 2.5, -4.5)};
          in.grad = {true, false, false};
          return in;
        },
        [](Tape* tape, Ts& x, Device) -> Ts { return {spectral_loss(tape, x[0], x[1], x[2], 4, 1e-4)}; },
        Tol::abs(1e-5, 1e-4, 1e-4), Tol::of_max(1e-4, 1e-3, 1e-4)));
}

void add_shape_ops(std::vector<OpCase>& t) {
  const Tol exact = Tol::abs(0, 0, 0);
  auto inputs = [](std::vector<Shape> shapes, std::vector<bool> grad, Shape seed) {
    return [=] {
      std::mt19937 rng(seed_of(seed, 5));
      Inputs in;
      for (const Shape& s : shapes) in.host.push_back(rnd(s, rng));
      in.grad = grad;
      in.seed = rnd(seed, rng);
      return in;
    };
  };
  t.push_back(simple("reshape", "(128,16384) to (128,1024,4,4)", inputs({{128, 16384}}, {true}, {128, 1024, 4, 4}),
                     [](Tape* tape, Ts& x, Device) -> Ts { return {reshape(tape, x[0], Shape{128, 1024, 4, 4})}; },
                     exact, exact));
  t.push_back(simple("flatten", "(8,1024,4,4)", inputs({{8, 1024, 4, 4}}, {true}, {8, 16384}),
                     [](Tape* tape, Ts& x, Device) -> Ts { return {flatten(tape, x[0])}; }, exact, exact));
  // The generator's input [one-hot genre | codes | noise], and a 4-D concat with a repeated input.
  t.push_back(simple("concat", "(128,5) (128,2) (128,93)", inputs({{128, 5}, {128, 2}, {128, 93}}, {false, true, true}, {128, 100}),
                     [](Tape* tape, Ts& x, Device) -> Ts { return {concat(tape, {x[0], x[1], x[2]})}; }, exact, exact, 2));
  t.push_back(simple("concat", "(3,4,5,7) (3,1,5,7) and the first again", inputs({{3, 4, 5, 7}, {3, 1, 5, 7}}, {true, true}, {3, 9, 5, 7}),
                     [](Tape* tape, Ts& x, Device) -> Ts { return {concat(tape, {x[0], x[1], x[0]})}; }, exact, exact));
  // D's real and generated batches joined, and each half's features taken back.
  t.push_back(simple("concat_batch", "(16,3,64,64) (16,3,64,64)", inputs({{16, 3, 64, 64}, {16, 3, 64, 64}}, {true, true}, {32, 3, 64, 64}),
                     [](Tape* tape, Ts& x, Device) -> Ts { return {concat_batch(tape, {x[0], x[1]})}; }, exact, exact, 2));
  t.push_back(simple("slice_batch", "rows 16-31 of (32,16384)", inputs({{32, 16384}}, {true}, {16, 16384}),
                     [](Tape* tape, Ts& x, Device) -> Ts { return {slice_batch(tape, x[0], 16, 16)}; }, exact, exact, 2));
  t.push_back(simple("weighted_sum", "(4,3,8,8) x3, one repeated", inputs({{4, 3, 8, 8}, {4, 3, 8, 8}}, {true, true}, {4, 3, 8, 8}),
                     [](Tape* tape, Ts& x, Device) -> Ts { return {weighted_sum(tape, {x[0], x[1], x[0]}, {0.5, -2.0, 1.5})}; },
                     Tol::abs(1e-7, 1e-6), Tol::abs(1e-7, 1e-6)));
}

// Dropout: the same (seed, offset) draws the same mask on both devices, so the output, the
// gradient and the stream's position after the call are identical, not merely close.
// D's features at base 32 (8,128,16,16) and odd shapes; offsets off a Philox block boundary.
void add_dropout(std::vector<OpCase>& t) {
  struct Row {
    Shape shape;
    double p;
    uint64_t offset;
  };
  for (const Row& row : {Row{Shape{8, 128, 16, 16}, 0.3, 0}, Row{Shape{3, 5, 7, 9}, 0.5, 6},
                         Row{Shape{1, 1, 1, 3}, 0.1, 1}, Row{Shape{4, 1024, 4, 4}, 0.9, (1ull << 33) + 4}}) {
    const double p = row.p;
    const uint64_t offset = row.offset;
    t.push_back(simple("dropout", detail::cat("x ", row.shape.str(), " p ", p, " offset ", offset),
                       one_input(row.shape, 2.0),
                       [=](Tape* tape, Ts& x, Device) -> Ts {
                         Philox rng(0x5eed, offset);
                         const Tensor y = dropout(tape, x[0], p, true, rng);
                         return {y, Tensor::from({double(rng.offset())}, Shape{1}, DType::f64)};
                       },
                       Tol::exact(), Tol::exact(), 2));
  }
}

}  // namespace

namespace cgtest {
std::vector<OpCase> op_table() {
  std::vector<OpCase> t;
  add_convolutions(t);
  add_linears(t);
  add_batch_norms(t);
  add_batch_norm_acts(t);
  add_activations(t);
  add_losses(t);
  add_shape_ops(t);
  add_dropout(t);
  add_engine_ops(t);
  add_recipe_ops(t);
  return t;
}
}  // namespace cgtest

TEST_CASE("cuda ops match the CPU: every row of the op table") {
  CG_SKIP_WITHOUT_CUDA();
  const std::vector<OpCase> table = op_table();
  std::printf("cuda op table: %zu rows\n", table.size());
  for (const OpCase& c : table) check_case(c);
}

// Runs without a GPU: every op an AC-GAN iteration records on its tape, and every engine
// kernel it launches, has at least one row, so an op added to the model without a row fails here.
TEST_CASE("the cuda op table has a row for every op of an AC-GAN iteration") {
  const std::vector<OpCase> table = op_table();
  std::set<std::string> covered;  // a row "a+b" covers a and b
  for (const OpCase& c : table)
    for (size_t from = 0, plus; from <= c.op.size(); from = plus + 1) {
      plus = std::min(c.op.find('+', from), c.op.size());
      covered.insert(c.op.substr(from, plus - from));
    }
  gan::ModelConfig m;
  m.image_size = 16;
  m.base_channels = 4;
  m.d_dropout = 0.3;  // every optional op of the model on
  gan::Generator G(m, Device::cpu);
  gan::Discriminator D(m, Device::cpu);
  Philox rng(1);
  G.init(rng);
  D.init(rng);
  Tape tape;
  Tensor z = Tensor::zeros(Shape{4, m.z_dim});
  z.set_requires_grad(true);
  // D sees G's output through DiffAugment when a run trains with --augment.
  Philox masks(2), arng(3);
  const DiffAugDraw aug = draw_diffaug(arng, parse_diffaug_policy("color,translation,cutout"), 4, 16, 16, Device::cpu);
  const gan::DOut d = D.forward(&tape, diff_augment(&tape, G.forward(&tape, z, gan::BnMode::train), aug),
                                gan::BnMode::train, &masks);
  const Tensor t = Tensor::full(Shape{4, 1}, 1.0), lab = Tensor::from_labels({0, 1, 2, 3});
  weighted_sum(&tape, {bce_with_logits(&tape, d.src, t), cross_entropy(&tape, d.cls, lab), mse(&tape, d.code, Tensor::zeros(d.code.shape()))},
               {1.0, 1.0, 1.0});
  std::set<std::string> ops;
  for (const Record& r : tape.records()) ops.insert(r.op);
  // The D step without dropout joins the real and the generated batch (forward_pair).
  m.d_dropout = 0;
  gan::Discriminator Dp(m, Device::cpu);
  Dp.init(rng);
  Tape tp;
  Tensor x = Tensor::zeros(Shape{2, 3, 16, 16});
  x.set_requires_grad(true);
  const auto [dr, df] = Dp.forward_pair(&tp, x, x, gan::BnMode::train);
  weighted_sum(&tp, {bce_with_logits(&tp, dr.src, Tensor::full(Shape{2, 1}, 1.0)),
                     bce_with_logits(&tp, df.src, Tensor::full(Shape{2, 1}, 0.0))}, {1.0, 1.0});
  for (const Record& r : tp.records()) ops.insert(r.op);
  CHECK(ops.count("concat_batch") == 1);
  CHECK(ops.count("slice_batch") == 1);
  CHECK(ops.size() >= 10);
  for (const char* engine_op : {"adam_step", "philox_bits", "philox_uniform", "philox_normal", "images_u8_to_f32",
                                "images_f32_to_u8", "fill", "axpy", "ema_update", "cast",
                                "project_resize_conv"})
    ops.insert(engine_op);
  for (const std::string& op : ops) {
    INFO("op " << op << " has no row in tests/cuda/test_ops.cpp or op_rows_engine.cpp");
    CHECK(covered.count(op) == 1);
  }
}

// The driver against itself on the CPU (no GPU needed): every row builds its inputs, runs
// forward and backward and compares (TF32 and bf16 rows repeat FP32 shapes there, so they
// are left out); and a result off by more than a row's tolerance fails.
TEST_CASE("the cuda op table runs every row on the CPU against itself and its comparisons catch errors") {
  const std::vector<OpCase> table = op_table();
  for (const OpCase& c : table)
    if (c.precision == Precision::fp32) check_case(c, Device::cpu);  // a TF32 or bf16 row is an FP32 row on the CPU
  const Tensor ref = Tensor::from({1.0, -2.0, 3.0, 0.5}, Shape{4});
  const Tensor off = Tensor::from({1.0, -2.0, 3.0, 0.5001}, Shape{4});
  CHECK(judge(ref, ref, Tol::exact()).ok);
  CHECK_FALSE(judge(off, ref, Tol::exact()).ok);
  CHECK(judge(off, ref, Tol::abs(2e-4, 0, 1e-4)).ok);
  CHECK_FALSE(judge(off, ref, Tol::abs(2e-4, 0, 1e-6)).ok);  // rel_l2 2.6e-5 over its bound
  CHECK_FALSE(judge(off, ref, Tol::abs(1e-5, 0, 1e-3)).ok);  // one element over its bound
  CHECK(judge(off, ref, Tol::of_max(1e-4, 0, 1e-3)).ok);     // 1e-4 of max |ref| = 3e-4
  CHECK_FALSE(judge(off, ref, Tol::ulps(1, 0)).ok);          // 0.5001 is many ulps from 0.5
  CHECK_FALSE(judge(ref, Tensor::from({1.0, -2.0, 3.0}, Shape{3}), Tol::abs(1, 1, 1)).ok);
  CHECK_FALSE(judge(Tensor::from({1.0, NAN}, Shape{2}), Tensor::from({1.0, 1.0}, Shape{2}), Tol::abs(1, 1, 1)).ok);
}
