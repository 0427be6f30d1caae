// CUDA (cuDNN) against the CPU reference (both float) for conv2d and conv_transpose2d:
// forward, dinp, dweight and dbias, accumulated over two backward passes, at the paper's
// shapes (batch 4) and at odd ones; strict FP32 and with TF32 on (looser). Each
// comparison is per element |gpu-cpu| <= atol + rtol*|cpu| with atol scaled by the
// reference's largest magnitude, and prints its NMSE.
#include <algorithm>
#include <cmath>

#include "layers/conv2d.h"
#include "layers/conv_transpose2d.h"
#include "support/check.h"
#include "support/skip.h"
#if COVERGAN_CUDA
#include "base/cuda_context.h"
#endif

using namespace cg;

namespace {

struct Case {
  int64_t N, C, H, W, OC, K, stride, pad;
};
enum class Op { conv, tconv };

struct Tol {
  double atol_rel_max, rtol;  // atol = atol_rel_max * max|cpu|
};
const Tol kStrict{1e-5, 1e-4};
const Tol kTf32{3e-3, 1e-2};

struct Run {
  Tensor out, dx, dw, db;  // undefined where not asked for
};

// x, w, b on the host (f32); grads asked for by gx/gw/gb; seed is dout. Two passes accumulate.
Run run_on(Device dev, Op op, const Case& k, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& seed,
           bool gx, bool gw, bool gb) {
  auto place = [&](const Tensor& t, bool grad) {
    if (!t.defined()) return Tensor();
    Tensor d = t.to(dev);
    if (d.same(t)) d = d.clone();
    d.set_requires_grad(grad);
    return d;
  };
  Tensor xd = place(x, gx), wd = place(w, gw), bd = place(b, gb);
  Run r;
  for (int pass = 0; pass < 2; ++pass) {
    Tape tape;
    Tensor out = op == Op::conv ? conv2d(&tape, xd, wd, bd, (int)k.stride, (int)k.pad)
                                : conv_transpose2d(&tape, xd, wd, bd, (int)k.stride, (int)k.pad);
    if (gx || gw || gb) tape.backward(out, seed.to(dev));
    r.out = out.to(Device::cpu);
  }
  if (gx) r.dx = xd.grad().to(Device::cpu);
  if (gw) r.dw = wd.grad().to(Device::cpu);
  if (gb) r.db = bd.grad().to(Device::cpu);
  return r;
}

void check_close(const char* what, const Tensor& gpu, const Tensor& cpu, const Tol& tol) {
  const auto ref = cpu.to_vector();
  double amax = 0;
  for (double v : ref) amax = std::max(amax, std::fabs(v));
  const auto cmp = cgtest::compare(gpu.to_vector(), ref, tol.atol_rel_max * amax, tol.rtol);
  MESSAGE(what << ": nmse " << cmp.nmse << ", max |gpu-cpu| " << cmp.max_abs << " (max |cpu| " << amax << ")");
  INFO(what << ": " << cmp.str());
  CHECK(cmp.ok);
}

std::string describe(Op op, const Case& k) {
  return detail::cat(op == Op::conv ? "conv2d" : "conv_transpose2d", " x (", k.N, ",", k.C, ",", k.H, ",", k.W,
                     ") OC ", k.OC, " K ", k.K, " stride ", k.stride, " pad ", k.pad);
}

// Compares CPU and CUDA for one case; weights scaled by 1/sqrt(fan-in) so outputs are O(1).
void compare_case(Op op, const Case& k, const Tol& tol, bool gx = true, bool gw = true, bool with_bias = true,
                  bool gb = true) {
  INFO(describe(op, k));
  std::mt19937 rng(static_cast<uint32_t>(k.N * 7919 + k.C * 104729 + k.H * 31 + k.K));
  const Shape ws = op == Op::conv ? Shape{k.OC, k.C, k.K, k.K} : Shape{k.C, k.OC, k.K, k.K};
  const Tensor x = cgtest::random_tensor(Shape{k.N, k.C, k.H, k.W}, rng, 1.0, DType::f32),
               w = cgtest::random_tensor(ws, rng, 1.0 / std::sqrt(double(k.C * k.K * k.K)), DType::f32),
               b = with_bias ? cgtest::random_tensor(Shape{k.OC}, rng, 1.0, DType::f32) : Tensor();
  gb = gb && with_bias;
  auto out_size = [&](int64_t n) {
    return op == Op::conv ? (n + 2 * k.pad - k.K) / k.stride + 1 : (n - 1) * k.stride - 2 * k.pad + k.K;
  };
  const int64_t OH = out_size(k.H), OW = out_size(k.W);
  const Tensor seed = cgtest::random_tensor(Shape{k.N, k.OC, OH, OW}, rng, 1.0, DType::f32);
  const Run c = run_on(Device::cpu, op, k, x, w, b, seed, gx, gw, gb);
  const Run g = run_on(Device::cuda, op, k, x, w, b, seed, gx, gw, gb);
  check_close("out", g.out, c.out, tol);
  if (gx) check_close("dinp", g.dx, c.dx, tol);
  if (gw) check_close("dweight", g.dw, c.dw, tol);
  if (gb) check_close("dbias", g.db, c.db, tol);
}

// The paper's layers at batch 4.
const std::vector<Case> kPaperConv = {{4, 3, 64, 64, 128, 4, 2, 1},
                                      {4, 128, 32, 32, 256, 4, 2, 1},
                                      {4, 256, 16, 16, 512, 4, 2, 1},
                                      {4, 512, 8, 8, 1024, 4, 2, 1}};
const std::vector<Case> kPaperTconv = {{4, 1024, 4, 4, 512, 4, 2, 1},
                                       {4, 512, 8, 8, 256, 4, 2, 1},
                                       {4, 256, 16, 16, 128, 4, 2, 1},
                                       {4, 128, 32, 32, 3, 4, 2, 1}};
// Odd sizes, batch 1, H != W, kernels 1/3/4/5, strides 1/2/3, paddings 0/1/2 (and padding > kernel).
const std::vector<Case> kOdd = {{1, 3, 7, 5, 4, 3, 1, 1},   {2, 5, 9, 11, 3, 5, 3, 2}, {3, 4, 6, 6, 2, 1, 1, 0},
                                {2, 3, 13, 10, 6, 4, 2, 1}, {1, 1, 1, 1, 1, 1, 1, 0},  {2, 2, 4, 3, 2, 1, 2, 2},
                                {5, 17, 9, 7, 33, 3, 2, 0}};

#if COVERGAN_CUDA
// Turns TF32 on for a scope and restores strict FP32 after, even when a check throws.
struct Tf32Scope {
  Tf32Scope() { cuda::set_tf32(true); }
  ~Tf32Scope() { cuda::set_tf32(false); }
};
#endif

}  // namespace

TEST_CASE("cuda conv2d matches the CPU at the paper's shapes and odd ones (strict FP32)") {
  CG_SKIP_WITHOUT_CUDA();
  for (const Case& k : kPaperConv) compare_case(Op::conv, k, kStrict);
  for (const Case& k : kOdd) compare_case(Op::conv, k, kStrict);
}

TEST_CASE("cuda conv_transpose2d matches the CPU at the paper's shapes and odd ones (strict FP32)") {
  CG_SKIP_WITHOUT_CUDA();
  for (const Case& k : kPaperTconv) compare_case(Op::tconv, k, kStrict);
  for (const Case& k : kOdd) compare_case(Op::tconv, k, kStrict);
}

TEST_CASE("cuda convolutions with some gradients not wanted and without bias match the CPU") {
  CG_SKIP_WITHOUT_CUDA();
  for (Op op : {Op::conv, Op::tconv}) {
    const Case k{3, 8, 8, 8, 16, 4, 2, 1};
    compare_case(op, k, kStrict, true, false, true, false);   // the G step through D: frozen weights
    compare_case(op, k, kStrict, false, true, true, true);    // real images: no input gradient
    compare_case(op, k, kStrict, true, true, false, false);   // no bias
    compare_case(op, k, kStrict, false, false, true, false);  // forward only: nothing recorded
  }
}

TEST_CASE("cuda convolutions with TF32 match the CPU within TF32 tolerance") {
  CG_SKIP_WITHOUT_CUDA();
#if COVERGAN_CUDA
  Tf32Scope tf32;
  for (const Case& k : kPaperConv) compare_case(Op::conv, k, kTf32);
  for (const Case& k : kPaperTconv) compare_case(Op::tconv, k, kTf32);
  compare_case(Op::conv, kOdd[1], kTf32);
  compare_case(Op::tconv, kOdd[3], kTf32);
#endif
}

TEST_CASE("cuda convolution plans are cached: repeated calls give identical outputs") {
  CG_SKIP_WITHOUT_CUDA();
  std::mt19937 rng(8);
  const Tensor x = cgtest::random_tensor(Shape{4, 64, 16, 16}, rng, 1.0, DType::f32).to(Device::cuda),
               w = cgtest::random_tensor(Shape{32, 64, 4, 4}, rng, 0.05, DType::f32).to(Device::cuda),
               wt = cgtest::random_tensor(Shape{64, 32, 4, 4}, rng, 0.05, DType::f32).to(Device::cuda);
  const Tensor a = conv2d(nullptr, x, w, Tensor(), 2, 1), b = conv2d(nullptr, x, w, Tensor(), 2, 1);
  CHECK_CLOSE_T(a, b, 0, 0);
  const Tensor ta = conv_transpose2d(nullptr, x, wt, Tensor(), 2, 1),
               tb = conv_transpose2d(nullptr, x, wt, Tensor(), 2, 1);
  CHECK_CLOSE_T(ta, tb, 0, 0);
  CHECK(ta.shape() == Shape{4, 32, 32, 32});
}

TEST_CASE("cuda convolutions reject inputs on mixed devices with a cg::Error naming the op") {
  CG_SKIP_WITHOUT_CUDA();
  const Tensor x = Tensor::zeros(Shape{1, 3, 8, 8}, DType::f32, Device::cuda);
  CHECK_THROWS_WITH_AS(conv2d(nullptr, x, Tensor::zeros(Shape{4, 3, 4, 4}), Tensor(), 2, 1),
                       doctest::Contains("conv2d"), cg::Error);
  CHECK_THROWS_WITH_AS(conv_transpose2d(nullptr, x, Tensor::zeros(Shape{3, 4, 4, 4}), Tensor(), 2, 1),
                       doctest::Contains("conv_transpose2d"), cg::Error);
}
