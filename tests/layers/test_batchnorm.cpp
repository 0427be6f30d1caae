// BatchNorm2d: training and eval forward against the direct-loop reference
// (kernels/cpu/reference/), running statistics over several steps, gradients against finite
// differences in both modes, float vs double agreement, the module's parameters and bad input.
#include <cmath>

#include "engine/params.h"
#include "kernels/cpu/reference/batchnorm2d_ref.h"
#include "layers/batchnorm2d.h"
#include "support/check.h"

using namespace cg;

namespace {

struct BnRef {
  std::vector<double> out, mean, var_biased, var_unbiased;
};

// The shared direct-loop reference (kernels/cpu/reference/batchnorm2d_ref.h): two passes
// per channel over (N,HW), in double; the unbiased variance is var * M/(M-1), M = N*HW.
BnRef bn_reference(const std::vector<double>& x, const std::vector<double>& g, const std::vector<double>& b,
                   int64_t N, int64_t C, int64_t HW, double eps = 1e-5) {
  BnRef r;
  r.out.resize(x.size());
  r.mean.resize(size_t(C));
  r.var_biased.resize(size_t(C));
  cpu::ref::batch_norm2d_forward_train(r.out.data(), r.mean.data(), r.var_biased.data(), x.data(), g.data(), b.data(),
                                      N, C, HW, eps);
  const double M = double(N * HW);
  for (double v : r.var_biased) r.var_unbiased.push_back(v * M / (M - 1));
  return r;
}

// BatchNorm couples every element of a channel, so central differences carry round-off
// of order 1e-16 |f| / h in every derivative; h = 1e-5 keeps that well under the
// tolerance while the truncation error (h^2) stays negligible.
#define CHECK_BN_GRADCHECK(f, inputs, tol)                                   \
  do {                                                                       \
    auto gc_ = ::cgtest::gradcheck((f), (inputs), 1e-5);                     \
    INFO("gradcheck worst: " << gc_.where << " rel err " << gc_.max_rel_err); \
    CHECK(gc_.max_rel_err <= (tol));                                         \
  } while (0)

int64_t spatial(const Shape& s) { return s.ndim == 4 ? s[2] * s[3] : 1; }

// Batch 1, odd sizes, (N,C) input. N*H*W = 2 (where the gradient through x is of order eps, too
// small for a relative finite-difference check) is in the forward test only.
const std::vector<Shape> kShapes = {Shape{2, 3, 4, 5}, Shape{1, 2, 3, 3}, Shape{5, 3}, Shape{3, 5, 3, 7},
                                    Shape{3, 1, 1, 1}, Shape{1, 4, 1, 3}};

}  // namespace

TEST_CASE("batch_norm2d training forward matches a two-pass reference and updates running stats once") {
  std::vector<Shape> shapes = kShapes;
  // and the model's plane sizes, whose row loops are compiled for their length
  shapes.insert(shapes.end(), {Shape{2, 1, 1, 1}, Shape{1, 4, 1, 2}, Shape{3, 5, 4, 4}, Shape{2, 3, 8, 8},
                               Shape{2, 2, 16, 16}, Shape{2, 2, 32, 32}});
  for (const Shape& s : shapes) {
    INFO("shape " << s.str());
    std::mt19937 rng(static_cast<uint32_t>(s.numel()));
    const int64_t N = s[0], C = s[1], HW = spatial(s);
    Tensor x = cgtest::random_tensor(s, rng, 3.0), g = cgtest::random_tensor(Shape{C}, rng),
           b = cgtest::random_tensor(Shape{C}, rng);
    // Shift the data so the mean is far from 0 (catches one-pass variance cancellation).
    x.add_(Tensor::full(s, 5.0, DType::f64));
    Tensor rm = Tensor::full(Shape{C}, 0.5, DType::f64), rv = Tensor::full(Shape{C}, 2.0, DType::f64);
    Tensor out = batch_norm2d(nullptr, x, g, b, rm, rv, true);
    const BnRef ref = bn_reference(x.to_vector(), g.to_vector(), b.to_vector(), N, C, HW);
    CHECK_CLOSE_T(out.to_vector(), ref.out, 1e-12, 1e-10);
    std::vector<double> want_rm, want_rv;
    for (int64_t c = 0; c < C; ++c) {
      want_rm.push_back(0.9 * 0.5 + 0.1 * ref.mean[c]);
      want_rv.push_back(0.9 * 2.0 + 0.1 * ref.var_unbiased[c]);
    }
    CHECK_CLOSE_T(rm.to_vector(), want_rm, 1e-12, 1e-12);
    CHECK_CLOSE_T(rv.to_vector(), want_rv, 1e-12, 1e-12);
  }
}

TEST_CASE("batch_norm2d running statistics after several steps match the PyTorch recurrence") {
  const int64_t N = 3, C = 4, H = 2, W = 3;
  std::mt19937 rng(11);
  Tensor g = Tensor::full(Shape{C}, 1.0, DType::f64), b = Tensor::zeros(Shape{C}, DType::f64);
  Tensor rm = Tensor::zeros(Shape{C}, DType::f64), rv = Tensor::full(Shape{C}, 1.0, DType::f64);
  std::vector<double> want_rm(C, 0.0), want_rv(C, 1.0);
  const double m = 0.25;  // a non-default momentum, so a hard-coded 0.1 would fail
  for (int step = 0; step < 5; ++step) {
    Tensor x = cgtest::random_tensor(Shape{N, C, H, W}, rng, 1.0 + step);
    batch_norm2d(nullptr, x, g, b, rm, rv, true, m);
    const BnRef ref = bn_reference(x.to_vector(), g.to_vector(), b.to_vector(), N, C, H * W);
    for (int64_t c = 0; c < C; ++c) {
      want_rm[c] = (1 - m) * want_rm[c] + m * ref.mean[c];
      want_rv[c] = (1 - m) * want_rv[c] + m * ref.var_unbiased[c];
    }
  }
  CHECK_CLOSE_T(rm.to_vector(), want_rm, 1e-12, 1e-12);
  CHECK_CLOSE_T(rv.to_vector(), want_rv, 1e-12, 1e-12);
}

TEST_CASE("batch_norm2d eval mode normalises with the running statistics and leaves them alone") {
  for (const Shape& s : {Shape{2, 3, 4, 5}, Shape{1, 2, 1, 1}, Shape{4, 3}}) {
    INFO("shape " << s.str());
    std::mt19937 rng(5);
    const int64_t C = s[1], HW = spatial(s);
    Tensor x = cgtest::random_tensor(s, rng, 2.0), g = cgtest::random_tensor(Shape{C}, rng),
           b = cgtest::random_tensor(Shape{C}, rng), rm = cgtest::random_tensor(Shape{C}, rng);
    std::vector<double> rvv;
    for (int64_t c = 0; c < C; ++c) rvv.push_back(0.5 + c);
    Tensor rv = Tensor::from(rvv, Shape{C}, DType::f64);
    const auto rm0 = rm.to_vector();
    Tensor out = batch_norm2d(nullptr, x, g, b, rm, rv, false);
    auto xv = x.to_vector(), gv = g.to_vector(), bv = b.to_vector();
    std::vector<double> ref(xv.size());  // gamma * (x - running_mean) / sqrt(running_var + eps) + beta
    cpu::ref::batch_norm2d_forward_eval(ref.data(), xv.data(), gv.data(), bv.data(), rm0.data(), rvv.data(), s[0], C,
                                       HW, 1e-5);
    CHECK_CLOSE_T(out.to_vector(), ref, 1e-12, 1e-12);
    CHECK_CLOSE_T(rm.to_vector(), rm0, 0, 0);
    CHECK_CLOSE_T(rv.to_vector(), rvv, 0, 0);
  }
}

TEST_CASE("batch_norm2d gradients match finite differences in training and eval mode") {
  for (bool training : {true, false}) {
    for (const Shape& s : kShapes) {
      INFO("mode " << std::string(training ? "training" : "eval") << ", shape " << s.str());
      std::mt19937 rng(static_cast<uint32_t>(s.numel() * 3 + training));
      const int64_t C = s[1];
      Tensor x = cgtest::random_tensor(s, rng, 2.0), g = cgtest::random_tensor(Shape{C}, rng),
             b = cgtest::random_tensor(Shape{C}, rng), rm = cgtest::random_tensor(Shape{C}, rng, 0.5);
      Tensor rv = Tensor::full(Shape{C}, 0.7, DType::f64);
      for (Tensor* t : {&x, &g, &b}) t->set_requires_grad(true);
      auto f = [&](Tape* tape) { return batch_norm2d(tape, x, g, b, rm, rv, training); };
      CHECK_BN_GRADCHECK(f, (std::vector<Tensor>{x, g, b}), 1e-6);
    }
  }
}

TEST_CASE("batch_norm2d backward accumulates and skips inputs that need no gradient") {
  std::mt19937 rng(3);
  const Shape s{2, 3, 2, 2};
  Tensor x = cgtest::random_tensor(s, rng), g = cgtest::random_tensor(Shape{3}, rng),
         b = cgtest::random_tensor(Shape{3}, rng);
  Tensor dy = cgtest::random_tensor(s, rng);
  x.set_requires_grad(true);  // gamma and beta frozen (D's weights during the G step)
  auto grad_of_x = [&]() {
    Tape tape;
    Tensor out = batch_norm2d(&tape, x, g, b, Tensor(), Tensor(), true);
    tape.backward(out, dy);
    return x.grad().to_vector();
  };
  const auto once = grad_of_x();
  const auto twice = grad_of_x();  // the second backward adds onto the first
  std::vector<double> doubled(once.size());
  for (size_t i = 0; i < once.size(); ++i) doubled[i] = 2 * once[i];
  CHECK_CLOSE_T(twice, doubled, 1e-14, 1e-12);
  CHECK_FALSE(g.grad().defined());
  CHECK_FALSE(b.grad().defined());
}

TEST_CASE("batch_norm2d float and double agree to float precision") {
  // 5x3: the row loops for any length; 4x4 .. 32x32: those compiled for the model's planes
  for (const Shape& s : {Shape{4, 6, 5, 3}, Shape{4, 6, 4, 4}, Shape{3, 6, 8, 8}, Shape{2, 6, 16, 16},
                         Shape{2, 6, 32, 32}})
    for (bool training : {true, false}) {
      INFO("shape " << s.str() << ", mode " << std::string(training ? "training" : "eval"));
      std::mt19937 rng(21);
      Tensor xd = cgtest::random_tensor(s, rng, 2.0), gd = cgtest::random_tensor(Shape{6}, rng),
             bd = cgtest::random_tensor(Shape{6}, rng), rmd = cgtest::random_tensor(Shape{6}, rng),
             rvd = Tensor::full(Shape{6}, 1.3, DType::f64), dyd = cgtest::random_tensor(s, rng);
      Tensor xf = xd.to(DType::f32), gf = gd.to(DType::f32), bf = bd.to(DType::f32), rmf = rmd.to(DType::f32),
             rvf = rvd.to(DType::f32), dyf = dyd.to(DType::f32);
      for (Tensor* t : {&xd, &gd, &bd, &xf, &gf, &bf}) t->set_requires_grad(true);
      Tape td, tf;
      Tensor od = batch_norm2d(&td, xd, gd, bd, rmd, rvd, training);
      Tensor of = batch_norm2d(&tf, xf, gf, bf, rmf, rvf, training);
      CHECK_CLOSE_T(of, od, 1e-5, 1e-5);
      CHECK_CLOSE_T(rmf, rmd, 1e-6, 1e-5);
      CHECK_CLOSE_T(rvf, rvd, 1e-6, 1e-5);
      td.backward(od, dyd);
      tf.backward(of, dyf);
      CHECK_CLOSE_T(xf.grad(), xd.grad(), 1e-5, 1e-4);
      CHECK_CLOSE_T(gf.grad(), gd.grad(), 1e-4, 1e-5);
      CHECK_CLOSE_T(bf.grad(), bd.grad(), 1e-4, 1e-5);
    }
}

TEST_CASE("BatchNorm2d module declares PyTorch-named parameters and buffers and resets them") {
  ParamStore ps;
  BatchNorm2d bn(ps, "D.conv2.bn", 4);
  ps.finalize(Device::cpu, DType::f64);
  bn.reset();
  CHECK(ps.find("D.conv2.bn.weight").same(bn.weight));
  CHECK(ps.find("D.conv2.bn.bias").same(bn.bias));
  CHECK(ps.find("D.conv2.bn.running_mean").same(bn.running_mean));
  CHECK(ps.find("D.conv2.bn.running_var").same(bn.running_var));
  CHECK(ps.num_params() == 8);
  CHECK_CLOSE_T(bn.weight.to_vector(), std::vector<double>(4, 1.0), 0, 0);
  CHECK_CLOSE_T(bn.bias.to_vector(), std::vector<double>(4, 0.0), 0, 0);
  CHECK_CLOSE_T(bn.running_mean.to_vector(), std::vector<double>(4, 0.0), 0, 0);
  CHECK_CLOSE_T(bn.running_var.to_vector(), std::vector<double>(4, 1.0), 0, 0);
  // A training step moves the module's own buffers (they are handles into the store).
  std::mt19937 rng(2);
  Tensor x = cgtest::random_tensor(Shape{2, 4, 3, 3}, rng);
  bn.forward(nullptr, x, true);
  CHECK(ps.find("D.conv2.bn.running_var").to_vector() != std::vector<double>(4, 1.0));
}

TEST_CASE("batch_norm2d rejects bad input with messages naming the op and the shapes") {
  Tensor g = Tensor::full(Shape{3}, 1.0), b = Tensor::zeros(Shape{3});
  Tensor rm = Tensor::zeros(Shape{3}), rv = Tensor::full(Shape{3}, 1.0);
  CHECK_THROWS_WITH_AS(batch_norm2d(nullptr, Tensor::zeros(Shape{1, 3}), g, b, rm, rv, true),
                       doctest::Contains("more than one value per channel, got input (1,3)"), cg::Error);
  CHECK_THROWS_WITH_AS(batch_norm2d(nullptr, Tensor::zeros(Shape{2, 4, 2, 2}), g, b, rm, rv, true),
                       doctest::Contains("batch_norm2d: weight (gamma) has shape (3), expected (4)"), cg::Error);
  CHECK_THROWS_WITH_AS(batch_norm2d(nullptr, Tensor::zeros(Shape{2, 3, 2}), g, b, rm, rv, true),
                       doctest::Contains("(N,C,H,W) or (N,C), got (2,3,2)"), cg::Error);
  CHECK_THROWS_WITH_AS(batch_norm2d(nullptr, Tensor::zeros(Shape{2, 3}), g, b, Tensor(), Tensor(), false),
                       doctest::Contains("eval mode needs running statistics"), cg::Error);
  CHECK_THROWS_AS(batch_norm2d(nullptr, Tensor::zeros(Shape{2, 3}, DType::f64), g, b, rm, rv, true), cg::Error);
  // Eval mode accepts a single value per channel (batch 1 sampling).
  CHECK_NOTHROW(batch_norm2d(nullptr, Tensor::zeros(Shape{1, 3}), g, b, rm, rv, false));
}
