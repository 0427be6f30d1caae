// Conv2d: forward against the direct-loop reference (kernels/cpu/reference/) on many
// shapes, exact float results on small integers, gradients against finite differences,
// shape errors, the paper's discriminator shapes, accumulation and the tape record.
#include <tuple>

#include "layers/conv2d.h"
#include "kernels/cpu/im2col.h"
#include "kernels/cpu/reference/conv2d_ref.h"
#include "support/check.h"

using namespace cg;

namespace {

struct Case {
  int64_t N, C, H, W, OC, K, stride, pad;
};

// The shared direct-loop reference (kernels/cpu/reference/conv2d_ref.h) on vectors:
// out[n,o,oh,ow] = b[o] + sum_{c,kh,kw} x[n,c,oh*s-p+kh,ow*s-p+kw] * w[o,c,kh,kw], zero outside x.
std::vector<double> direct_conv2d(const Case& k, const std::vector<double>& x, const std::vector<double>& w,
                                  const std::vector<double>* b) {
  const int64_t OH = (k.H + 2 * k.pad - k.K) / k.stride + 1, OW = (k.W + 2 * k.pad - k.K) / k.stride + 1;
  std::vector<double> out(static_cast<size_t>(k.N * k.OC * OH * OW));
  cpu::ref::conv2d_forward(out.data(), x.data(), w.data(), b ? b->data() : nullptr, k.N, k.C, k.H, k.W, k.OC, k.K,
                           k.stride, k.pad);
  return out;
}

std::string describe(const Case& k) {
  return detail::cat("x (", k.N, ",", k.C, ",", k.H, ",", k.W, ") OC ", k.OC, " K ", k.K, " stride ", k.stride,
                     " pad ", k.pad);
}

// Odd sizes, batch 1, H != W, kernels 1/3/4/5, strides 1/2/3, paddings 0/1/2 (and padding >= kernel).
const std::vector<Case> kForwardCases = {
    {1, 1, 1, 1, 1, 1, 1, 0},  {2, 3, 7, 5, 4, 3, 1, 1},  {1, 2, 9, 6, 3, 5, 2, 2},  {3, 4, 8, 8, 5, 4, 2, 1},
    {2, 3, 11, 7, 2, 3, 3, 0}, {1, 5, 6, 9, 3, 1, 1, 0},  {2, 2, 5, 5, 3, 1, 2, 1},  {1, 3, 4, 4, 2, 5, 1, 2},
    {2, 1, 13, 10, 2, 4, 3, 2}, {1, 2, 3, 3, 2, 3, 2, 0}, {2, 2, 4, 3, 2, 1, 2, 2},  {5, 3, 16, 12, 6, 4, 2, 1},
};

}  // namespace

TEST_CASE("conv2d forward matches a direct loop on many shapes, with and without bias") {
  for (const Case& k : kForwardCases)
    for (bool with_bias : {true, false}) {
      INFO(describe(k) << (with_bias ? " with bias" : " without bias"));
      std::mt19937 rng(static_cast<uint32_t>(k.N * 1000 + k.H * 10 + k.K));
      Tensor x = cgtest::random_tensor(Shape{k.N, k.C, k.H, k.W}, rng),
             w = cgtest::random_tensor(Shape{k.OC, k.C, k.K, k.K}, rng),
             b = with_bias ? cgtest::random_tensor(Shape{k.OC}, rng) : Tensor();
      const Tensor out = conv2d(nullptr, x, w, b, (int)k.stride, (int)k.pad);
      const std::vector<double> bv = with_bias ? b.to_vector() : std::vector<double>();
      const auto ref = direct_conv2d(k, x.to_vector(), w.to_vector(), with_bias ? &bv : nullptr);
      const int64_t OH = (k.H + 2 * k.pad - k.K) / k.stride + 1, OW = (k.W + 2 * k.pad - k.K) / k.stride + 1;
      CHECK(out.shape() == Shape{k.N, k.OC, OH, OW});
      CHECK_CLOSE_T(out.to_vector(), ref, 1e-12, 1e-12);
      // The float path agrees with the double reference to float rounding.
      const Tensor outf = conv2d(nullptr, x.to(DType::f32), w.to(DType::f32),
                                 with_bias ? b.to(DType::f32) : Tensor(), (int)k.stride, (int)k.pad);
      CHECK_CLOSE_T(outf.to_vector(), ref, 1e-5, 1e-5);
    }
}

TEST_CASE("conv2d on small integers is bit-exact in float") {
  // Products and sums of small integers are exact in float, so any summation order gives the reference.
  for (const Case& k : {Case{2, 3, 9, 7, 4, 3, 2, 1}, Case{3, 5, 8, 8, 6, 4, 2, 1}, Case{1, 2, 6, 11, 3, 5, 1, 2}}) {
    INFO(describe(k));
    std::mt19937 rng(11);
    std::uniform_int_distribution<int> small(-3, 3);
    auto ints = [&](int64_t n) {
      std::vector<double> v(static_cast<size_t>(n));
      for (double& e : v) e = small(rng);
      return v;
    };
    const auto xv = ints(k.N * k.C * k.H * k.W), wv = ints(k.OC * k.C * k.K * k.K), bv = ints(k.OC);
    const Tensor out = conv2d(nullptr, Tensor::from(xv, Shape{k.N, k.C, k.H, k.W}),
                              Tensor::from(wv, Shape{k.OC, k.C, k.K, k.K}), Tensor::from(bv, Shape{k.OC}),
                              (int)k.stride, (int)k.pad);
    CHECK(out.dtype() == DType::f32);
    CHECK_CLOSE_T(out.to_vector(), direct_conv2d(k, xv, wv, &bv), 0, 0);
  }
}

TEST_CASE("conv2d gradients of input, weight and bias match finite differences") {
  const std::vector<Case> cases = {{1, 2, 5, 4, 3, 3, 1, 1}, {2, 3, 6, 5, 2, 4, 2, 1}, {1, 1, 7, 7, 2, 5, 3, 2},
                                   {2, 2, 4, 6, 3, 1, 1, 0}, {3, 2, 5, 5, 2, 3, 2, 0}, {1, 3, 3, 3, 1, 3, 1, 2}};
  for (const Case& k : cases) {
    INFO(describe(k));
    std::mt19937 rng(static_cast<uint32_t>(k.H * 100 + k.K));
    Tensor x = cgtest::random_tensor(Shape{k.N, k.C, k.H, k.W}, rng),
           w = cgtest::random_tensor(Shape{k.OC, k.C, k.K, k.K}, rng), b = cgtest::random_tensor(Shape{k.OC}, rng);
    for (Tensor* t : {&x, &w, &b}) t->set_requires_grad(true);
    auto f = [&](Tape* tape) { return conv2d(tape, x, w, b, (int)k.stride, (int)k.pad); };
    CHECK_GRADCHECK(f, (std::vector<Tensor>{x, w, b}), 1e-6);
  }
}

TEST_CASE("conv2d gradients with no bias and with a frozen weight or input") {
  std::mt19937 rng(3);
  const Case k{2, 3, 7, 6, 4, 3, 2, 1};
  Tensor x = cgtest::random_tensor(Shape{k.N, k.C, k.H, k.W}, rng),
         w = cgtest::random_tensor(Shape{k.OC, k.C, k.K, k.K}, rng);
  for (auto [gx, gw] : {std::pair{true, false}, {false, true}, {true, true}}) {
    INFO("input needs grad " << gx << ", weight needs grad " << gw);
    Tensor xi = x.clone(), wi = w.clone();
    xi.set_requires_grad(gx);
    wi.set_requires_grad(gw);
    auto f = [&](Tape* tape) { return conv2d(tape, xi, wi, Tensor(), 2, 1); };
    CHECK_GRADCHECK(f, (std::vector<Tensor>{xi, wi}), 1e-6);
    if (!gx) CHECK_FALSE(xi.grad().defined());
    if (!gw) CHECK_FALSE(wi.grad().defined());
  }
}

TEST_CASE("conv2d backward accumulates into existing gradients and is recorded with its arguments") {
  std::mt19937 rng(5);
  Tensor x = cgtest::random_tensor(Shape{2, 3, 8, 8}, rng), w = cgtest::random_tensor(Shape{4, 3, 4, 4}, rng),
         b = cgtest::random_tensor(Shape{4}, rng);
  for (Tensor* t : {&x, &w, &b}) t->set_requires_grad(true);
  const Tensor seed = cgtest::random_tensor(Shape{2, 4, 4, 4}, rng);
  std::vector<std::vector<double>> once;
  for (int pass = 0; pass < 2; ++pass) {
    Tape tape;
    Tensor out = conv2d(&tape, x, w, b, 2, 1);
    REQUIRE(tape.size() == 1);
    CHECK(std::string(tape.records()[0].op) == "conv2d");
    CHECK(std::string(tape.records()[0].backward_name) == "conv2d_backward");
    CHECK(tape.records()[0].args == std::vector<double>{2, 1});
    tape.backward(out, seed);
    if (pass == 0)
      for (Tensor* t : {&x, &w, &b}) once.push_back(t->grad().to_vector());
  }
  cgtest::check_gradients_doubled({&x, &w, &b}, once);
  // Nothing needs a gradient: nothing is recorded.
  Tape tape;
  conv2d(&tape, x.detach(), w.detach(), Tensor(), 2, 1);
  CHECK(tape.size() == 0);
}

TEST_CASE("conv2d rejects bad shapes with a cg::Error naming the op and the shapes") {
  const Tensor x = Tensor::zeros(Shape{2, 3, 8, 8}), w = Tensor::zeros(Shape{4, 3, 3, 3});
  CHECK_THROWS_WITH_AS(conv2d(nullptr, x, Tensor::zeros(Shape{4, 5, 3, 3}), Tensor(), 1, 1),
                       doctest::Contains("conv2d: input (2,3,8,8) has 3 channels but weight (4,5,3,3)"), cg::Error);
  CHECK_THROWS_WITH_AS(conv2d(nullptr, Tensor::zeros(Shape{2, 3, 8}), w, Tensor(), 1, 1),
                       doctest::Contains("conv2d"), cg::Error);
  CHECK_THROWS_WITH_AS(conv2d(nullptr, x, Tensor::zeros(Shape{4, 3, 3, 2}), Tensor(), 1, 1),
                       doctest::Contains("conv2d: weight (4,3,3,2)"), cg::Error);
  CHECK_THROWS_WITH_AS(conv2d(nullptr, x, w, Tensor::zeros(Shape{3}), 1, 1), doctest::Contains("conv2d"),
                       cg::Error);
  CHECK_THROWS_WITH_AS(conv2d(nullptr, Tensor::zeros(Shape{1, 3, 2, 2}), w, Tensor(), 1, 0),
                       doctest::Contains("conv2d: input (1,3,2,2) with padding 0 is smaller than the kernel 3x3"),
                       cg::Error);
  CHECK_THROWS_WITH_AS(conv2d(nullptr, x, w, Tensor(), 0, 1), doctest::Contains("conv2d: stride 0"), cg::Error);
  CHECK_THROWS_WITH_AS(conv2d(nullptr, x, w, Tensor(), 1, -1), doctest::Contains("conv2d"), cg::Error);
  CHECK_THROWS_WITH_AS(conv2d(nullptr, x, Tensor::zeros(Shape{4, 3, 3, 3}, DType::f64), Tensor(), 1, 1),
                       doctest::Contains("conv2d"), cg::Error);
  const Tensor xi = Tensor::zeros(Shape{2, 3, 8, 8}, DType::i32), wi = Tensor::zeros(Shape{4, 3, 3, 3}, DType::i32);
  CHECK_THROWS_WITH_AS(conv2d(nullptr, xi, wi, Tensor(), 1, 1), doctest::Contains("conv2d"), cg::Error);
}

TEST_CASE("Conv2d module: the paper's discriminator shapes 64 -> 32 -> 16 -> 8 -> 4") {
  ParamStore ps;
  // The paper's layers with the channel widths scaled down (3 -> 128 -> 256 -> 512 -> 1024 there).
  std::vector<Conv2d> convs;
  const int64_t widths[] = {3, 8, 16, 32, 64};
  for (int i = 0; i < 4; ++i) convs.emplace_back(ps, "D.conv" + std::to_string(i + 1), widths[i], widths[i + 1]);
  ps.finalize(Device::cpu);
  CHECK(ps.find("D.conv1.weight").shape() == Shape{8, 3, 4, 4});
  CHECK(ps.find("D.conv4.bias").shape() == Shape{64});
  CHECK(convs[0].stride == 2);
  CHECK(convs[0].pad == 1);
  Tensor h = Tensor::zeros(Shape{2, 3, 64, 64});
  const int64_t sizes[] = {32, 16, 8, 4};
  for (int i = 0; i < 4; ++i) {
    h = convs[static_cast<size_t>(i)].forward(nullptr, h);
    CHECK(h.shape() == Shape{2, widths[i + 1], sizes[i], sizes[i]});
  }
  // The full-width first layer: (N,3,64,64) -> (N,128,32,32).
  const Tensor y = conv2d(nullptr, Tensor::zeros(Shape{1, 3, 64, 64}), Tensor::zeros(Shape{128, 3, 4, 4}),
                          Tensor::zeros(Shape{128}), 2, 1);
  CHECK(y.shape() == Shape{1, 128, 32, 32});
  ParamStore nb;
  Conv2d no_bias(nb, "c", 3, 5, 3, 1, 1, false);
  CHECK_FALSE(no_bias.bias.defined());
  CHECK_FALSE(nb.find("c.bias").defined());
  CHECK(nb.find("c.weight").shape() == Shape{5, 3, 3, 3});
}

TEST_CASE("batch chunks are equal: a batch that needs two chunks splits in halves, not full plus remainder") {
  struct Budget {
    int64_t old;
    ~Budget() { cpu::set_batch_chunk_budget(old); }
  } budget{cpu::set_batch_chunk_budget(28 * 100)};
  CHECK(cpu::batch_chunk(28, 100) == 28);  // fits: one chunk
  CHECK(cpu::batch_chunk(32, 100) == 16);  // 28 fit: 16 + 16
  CHECK(cpu::batch_chunk(57, 100) == 19);  // 3 chunks of 19
  CHECK(cpu::batch_chunk(5, 10000) == 1);  // not even one fits: one sample at a time
  CHECK(cpu::batch_chunk(1, 100) == 1);
}

TEST_CASE("conv2d on a batch in several chunks equals per-sample results, forward and backward") {
  const Case k{5, 24, 13, 16, 12, 3, 1, 1};
  std::mt19937 rng(21);
  Tensor x = cgtest::random_tensor(Shape{k.N, k.C, k.H, k.W}, rng),
         w = cgtest::random_tensor(Shape{k.OC, k.C, k.K, k.K}, rng), b = cgtest::random_tensor(Shape{k.OC}, rng);
  for (Tensor* t : {&x, &w, &b}) t->set_requires_grad(true);
  // A small scratch budget: the batch of 5 runs as chunks of 2, 2 and 1 samples.
  struct Budget {
    int64_t old;
    ~Budget() { cpu::set_batch_chunk_budget(old); }
  } budget{cpu::set_batch_chunk_budget(2 * (k.C * k.K * k.K + k.OC) * 13 * 16)};
  REQUIRE(cpu::batch_chunk(k.N, (k.C * k.K * k.K + k.OC) * 13 * 16) == 2);
  Tape tape;
  Tensor out = conv2d(&tape, x, w, b, 1, 1);
  const std::vector<double> bv = b.to_vector();
  CHECK_CLOSE_T(out.to_vector(), direct_conv2d(k, x.to_vector(), w.to_vector(), &bv), 1e-12, 1e-12);
  const Tensor seed = cgtest::random_tensor(out.shape(), rng);
  tape.backward(out, seed);
  // The same gradients one sample at a time, summed over the batch.
  Tensor w1 = w.detach().clone(), b1 = b.detach().clone();
  w1.set_requires_grad(true);
  b1.set_requires_grad(true);
  std::vector<double> dx;
  const int64_t xs = k.C * k.H * k.W, ys = seed.numel() / k.N;
  for (int64_t n = 0; n < k.N; ++n) {
    Tensor xn = x.detach().slice_view(n * xs, Shape{1, k.C, k.H, k.W}).clone();
    xn.set_requires_grad(true);
    Tape t1;
    Tensor yn = conv2d(&t1, xn, w1, b1, 1, 1);
    t1.backward(yn, seed.slice_view(n * ys, yn.shape()).clone());
    for (double v : xn.grad().to_vector()) dx.push_back(v);
  }
  CHECK_CLOSE_T(x.grad().to_vector(), dx, 1e-12, 1e-12);
  CHECK_CLOSE_T(w.grad(), w1.grad(), 1e-12, 1e-12);
  CHECK_CLOSE_T(b.grad(), b1.grad(), 1e-12, 1e-12);
}
