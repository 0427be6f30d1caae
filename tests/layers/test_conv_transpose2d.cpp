// ConvTranspose2d: forward against the direct-loop reference (kernels/cpu/reference/) on
// many shapes, the adjoint identity <conv2d(x,w), y> = <x, conv_transpose2d(y,w)>, exact
// float results on small integers, gradients against finite differences, shape errors and
// the paper's generator shapes 4 -> 8 -> 16 -> 32 -> 64.
#include <tuple>

#include "layers/conv2d.h"
#include "layers/conv_transpose2d.h"
#include "kernels/cpu/im2col.h"
#include "kernels/cpu/reference/conv_transpose2d_ref.h"
#include "support/check.h"

using namespace cg;

namespace {

struct TCase {
  int64_t N, C, H, W, OC, K, stride, pad;
};

int64_t out_size(int64_t n, const TCase& k) { return (n - 1) * k.stride - 2 * k.pad + k.K; }

// The shared direct-loop reference (kernels/cpu/reference/conv_transpose2d_ref.h) on vectors:
// out[n,o,ih*s-p+kh,iw*s-p+kw] += x[n,c,ih,iw] * w[c,o,kh,kw] (dropped outside out), then + b[o].
std::vector<double> direct_conv_transpose2d(const TCase& k, const std::vector<double>& x,
                                            const std::vector<double>& w, const std::vector<double>* b) {
  std::vector<double> out(static_cast<size_t>(k.N * k.OC * out_size(k.H, k) * out_size(k.W, k)));
  cpu::ref::conv_transpose2d_forward(out.data(), x.data(), w.data(), b ? b->data() : nullptr, k.N, k.C, k.H, k.W,
                                     k.OC, k.K, k.stride, k.pad);
  return out;
}

std::string describe(const TCase& k) {
  return detail::cat("x (", k.N, ",", k.C, ",", k.H, ",", k.W, ") OC ", k.OC, " K ", k.K, " stride ", k.stride,
                     " pad ", k.pad);
}

double dot(const Tensor& a, const Tensor& b) {
  const auto av = a.to_vector(), bv = b.to_vector();
  REQUIRE(av.size() == bv.size());
  double s = 0;
  for (size_t i = 0; i < av.size(); ++i) s += av[i] * bv[i];
  return s;
}

const std::vector<TCase> kForwardCases = {
    {1, 1, 1, 1, 1, 1, 1, 0},  {2, 3, 4, 4, 2, 4, 2, 1},  {1, 2, 5, 3, 3, 3, 1, 1},  {2, 4, 3, 6, 3, 5, 3, 2},
    {3, 2, 7, 5, 4, 3, 2, 0},  {1, 5, 4, 4, 2, 1, 1, 0},  {2, 3, 3, 5, 2, 4, 3, 1},  {1, 2, 6, 6, 3, 5, 2, 2},
    {2, 1, 2, 9, 2, 3, 3, 1},  {4, 6, 4, 4, 5, 4, 2, 1},  {1, 3, 5, 5, 2, 1, 2, 0},
};

}  // namespace

TEST_CASE("conv_transpose2d forward matches a direct loop on many shapes, with and without bias") {
  for (const TCase& k : kForwardCases)
    for (bool with_bias : {true, false}) {
      INFO(describe(k) << (with_bias ? " with bias" : " without bias"));
      std::mt19937 rng(static_cast<uint32_t>(k.N * 1000 + k.H * 10 + k.K));
      Tensor x = cgtest::random_tensor(Shape{k.N, k.C, k.H, k.W}, rng),
             w = cgtest::random_tensor(Shape{k.C, k.OC, k.K, k.K}, rng),
             b = with_bias ? cgtest::random_tensor(Shape{k.OC}, rng) : Tensor();
      const Tensor out = conv_transpose2d(nullptr, x, w, b, (int)k.stride, (int)k.pad);
      const std::vector<double> bv = with_bias ? b.to_vector() : std::vector<double>();
      const auto ref = direct_conv_transpose2d(k, x.to_vector(), w.to_vector(), with_bias ? &bv : nullptr);
      CHECK(out.shape() == Shape{k.N, k.OC, out_size(k.H, k), out_size(k.W, k)});
      CHECK_CLOSE_T(out.to_vector(), ref, 1e-12, 1e-12);
      const Tensor outf = conv_transpose2d(nullptr, x.to(DType::f32), w.to(DType::f32),
                                           with_bias ? b.to(DType::f32) : Tensor(), (int)k.stride, (int)k.pad);
      CHECK_CLOSE_T(outf.to_vector(), ref, 1e-5, 1e-5);
    }
}

TEST_CASE("conv_transpose2d is the adjoint of conv2d: <conv2d(x,w), y> = <x, conv_transpose2d(y,w)>") {
  // conv2d x (N,C,H,W), w (OC,C,K,K) -> y (N,OC,OH,OW); shapes where conv_transpose2d maps back to (H,W).
  const std::vector<TCase> cases = {{2, 3, 8, 6, 4, 4, 2, 1},  {1, 2, 7, 7, 3, 3, 1, 1}, {3, 4, 9, 12, 2, 3, 3, 0},
                                    {2, 5, 6, 10, 3, 5, 1, 2}, {1, 3, 5, 5, 6, 1, 2, 0}, {2, 2, 11, 7, 3, 4, 1, 0}};
  for (const TCase& k : cases) {
    INFO(describe(k));
    REQUIRE((k.H + 2 * k.pad - k.K) % k.stride == 0);
    REQUIRE((k.W + 2 * k.pad - k.K) % k.stride == 0);
    std::mt19937 rng(static_cast<uint32_t>(k.C * 31 + k.K));
    const Tensor x = cgtest::random_tensor(Shape{k.N, k.C, k.H, k.W}, rng),
                 w = cgtest::random_tensor(Shape{k.OC, k.C, k.K, k.K}, rng);
    const Tensor cx = conv2d(nullptr, x, w, Tensor(), (int)k.stride, (int)k.pad);
    const Tensor y = cgtest::random_tensor(cx.shape(), rng);
    const Tensor ty = conv_transpose2d(nullptr, y, w, Tensor(), (int)k.stride, (int)k.pad);
    REQUIRE(ty.shape() == x.shape());
    const double lhs = dot(cx, y), rhs = dot(x, ty);
    CHECK(std::fabs(lhs - rhs) <= 1e-12 * std::max(1.0, std::fabs(lhs)));
  }
}

TEST_CASE("conv_transpose2d on small integers is bit-exact in float") {
  for (const TCase& k : {TCase{2, 3, 4, 4, 4, 4, 2, 1}, TCase{3, 5, 5, 3, 2, 3, 1, 1}, TCase{1, 4, 3, 6, 3, 5, 3, 2}}) {
    INFO(describe(k));
    std::mt19937 rng(13);
    std::uniform_int_distribution<int> small(-3, 3);
    auto ints = [&](int64_t n) {
      std::vector<double> v(static_cast<size_t>(n));
      for (double& e : v) e = small(rng);
      return v;
    };
    const auto xv = ints(k.N * k.C * k.H * k.W), wv = ints(k.C * k.OC * k.K * k.K), bv = ints(k.OC);
    const Tensor out = conv_transpose2d(nullptr, Tensor::from(xv, Shape{k.N, k.C, k.H, k.W}),
                                        Tensor::from(wv, Shape{k.C, k.OC, k.K, k.K}), Tensor::from(bv, Shape{k.OC}),
                                        (int)k.stride, (int)k.pad);
    CHECK(out.dtype() == DType::f32);
    CHECK_CLOSE_T(out.to_vector(), direct_conv_transpose2d(k, xv, wv, &bv), 0, 0);
  }
}

TEST_CASE("conv_transpose2d gradients of input, weight and bias match finite differences") {
  const std::vector<TCase> cases = {{1, 2, 3, 4, 3, 3, 1, 1}, {2, 3, 3, 3, 2, 4, 2, 1}, {1, 1, 3, 2, 2, 5, 3, 2},
                                    {2, 2, 4, 3, 3, 1, 1, 0}, {3, 2, 2, 3, 2, 3, 2, 0}, {1, 3, 2, 2, 1, 4, 2, 1}};
  for (const TCase& k : cases) {
    INFO(describe(k));
    std::mt19937 rng(static_cast<uint32_t>(k.H * 100 + k.K));
    Tensor x = cgtest::random_tensor(Shape{k.N, k.C, k.H, k.W}, rng),
           w = cgtest::random_tensor(Shape{k.C, k.OC, k.K, k.K}, rng), b = cgtest::random_tensor(Shape{k.OC}, rng);
    for (Tensor* t : {&x, &w, &b}) t->set_requires_grad(true);
    auto f = [&](Tape* tape) { return conv_transpose2d(tape, x, w, b, (int)k.stride, (int)k.pad); };
    CHECK_GRADCHECK(f, (std::vector<Tensor>{x, w, b}), 1e-6);
  }
}

TEST_CASE("conv_transpose2d gradients with no bias and with a frozen weight or input") {
  std::mt19937 rng(4);
  Tensor x = cgtest::random_tensor(Shape{2, 3, 4, 3}, rng), w = cgtest::random_tensor(Shape{3, 2, 4, 4}, rng);
  for (auto [gx, gw] : {std::pair{true, false}, {false, true}, {true, true}}) {
    INFO("input needs grad " << gx << ", weight needs grad " << gw);
    Tensor xi = x.clone(), wi = w.clone();
    xi.set_requires_grad(gx);
    wi.set_requires_grad(gw);
    auto f = [&](Tape* tape) { return conv_transpose2d(tape, xi, wi, Tensor(), 2, 1); };
    CHECK_GRADCHECK(f, (std::vector<Tensor>{xi, wi}), 1e-6);
    if (!gx) CHECK_FALSE(xi.grad().defined());
    if (!gw) CHECK_FALSE(wi.grad().defined());
  }
}

TEST_CASE("conv_transpose2d backward accumulates into existing gradients and is recorded with its arguments") {
  std::mt19937 rng(6);
  Tensor x = cgtest::random_tensor(Shape{2, 4, 4, 4}, rng), w = cgtest::random_tensor(Shape{4, 3, 4, 4}, rng),
         b = cgtest::random_tensor(Shape{3}, rng);
  for (Tensor* t : {&x, &w, &b}) t->set_requires_grad(true);
  const Tensor seed = cgtest::random_tensor(Shape{2, 3, 8, 8}, rng);
  std::vector<std::vector<double>> once;
  for (int pass = 0; pass < 2; ++pass) {
    Tape tape;
    Tensor out = conv_transpose2d(&tape, x, w, b, 2, 1);
    REQUIRE(tape.size() == 1);
    CHECK(std::string(tape.records()[0].op) == "conv_transpose2d");
    CHECK(std::string(tape.records()[0].backward_name) == "conv_transpose2d_backward");
    CHECK(tape.records()[0].args == std::vector<double>{2, 1});
    tape.backward(out, seed);
    if (pass == 0)
      for (Tensor* t : {&x, &w, &b}) once.push_back(t->grad().to_vector());
  }
  cgtest::check_gradients_doubled({&x, &w, &b}, once);
}

TEST_CASE("conv_transpose2d rejects bad shapes with a cg::Error naming the op and the shapes") {
  const Tensor x = Tensor::zeros(Shape{2, 4, 4, 4}), w = Tensor::zeros(Shape{4, 3, 4, 4});
  CHECK_THROWS_WITH_AS(conv_transpose2d(nullptr, x, Tensor::zeros(Shape{3, 4, 4, 4}), Tensor(), 2, 1),
                       doctest::Contains("conv_transpose2d: input (2,4,4,4) has 4 channels but weight (3,4,4,4)"),
                       cg::Error);
  CHECK_THROWS_WITH_AS(conv_transpose2d(nullptr, Tensor::zeros(Shape{4, 4}), w, Tensor(), 2, 1),
                       doctest::Contains("conv_transpose2d"), cg::Error);
  CHECK_THROWS_WITH_AS(conv_transpose2d(nullptr, x, Tensor::zeros(Shape{4, 3, 4, 3}), Tensor(), 2, 1),
                       doctest::Contains("conv_transpose2d: weight (4,3,4,3)"), cg::Error);
  CHECK_THROWS_WITH_AS(conv_transpose2d(nullptr, x, w, Tensor::zeros(Shape{4}), 2, 1),
                       doctest::Contains("conv_transpose2d"), cg::Error);
  CHECK_THROWS_WITH_AS(conv_transpose2d(nullptr, Tensor::zeros(Shape{1, 4, 1, 1}), w, Tensor(), 1, 2),
                       doctest::Contains("conv_transpose2d: input (1,4,1,1) with kernel 4 stride 1 padding 2"),
                       cg::Error);
  CHECK_THROWS_WITH_AS(conv_transpose2d(nullptr, x, w, Tensor(), 0, 1), doctest::Contains("conv_transpose2d: stride 0"),
                       cg::Error);
  CHECK_THROWS_WITH_AS(conv_transpose2d(nullptr, x, Tensor::zeros(Shape{4, 3, 4, 4}, DType::f64), Tensor(), 2, 1),
                       doctest::Contains("conv_transpose2d"), cg::Error);
}

TEST_CASE("ConvTranspose2d module: the paper's generator shapes 4 -> 8 -> 16 -> 32 -> 64") {
  ParamStore ps;
  // The paper's layers with the channel widths scaled down (1024 -> 512 -> 256 -> 128 -> 3 there).
  std::vector<ConvTranspose2d> tconvs;
  const int64_t widths[] = {64, 32, 16, 8, 3};
  for (int i = 0; i < 4; ++i)
    tconvs.emplace_back(ps, "G.tconv" + std::to_string(i + 1), widths[i], widths[i + 1]);
  ps.finalize(Device::cpu);
  CHECK(ps.find("G.tconv1.weight").shape() == Shape{64, 32, 4, 4});  // (in, out, K, K) as PyTorch
  CHECK(ps.find("G.tconv4.bias").shape() == Shape{3});
  Tensor h = Tensor::zeros(Shape{2, 64, 4, 4});
  const int64_t sizes[] = {8, 16, 32, 64};
  for (int i = 0; i < 4; ++i) {
    h = tconvs[static_cast<size_t>(i)].forward(nullptr, h);
    CHECK(h.shape() == Shape{2, widths[i + 1], sizes[i], sizes[i]});
  }
  // The full-width first layer: (N,1024,4,4) -> (N,512,8,8).
  const Tensor y = conv_transpose2d(nullptr, Tensor::zeros(Shape{1, 1024, 4, 4}),
                                    Tensor::zeros(Shape{1024, 512, 4, 4}), Tensor::zeros(Shape{512}), 2, 1);
  CHECK(y.shape() == Shape{1, 512, 8, 8});
  ParamStore nb;
  ConvTranspose2d no_bias(nb, "t", 3, 5, 3, 1, 1, false);
  CHECK_FALSE(no_bias.bias.defined());
  CHECK(nb.find("t.weight").shape() == Shape{3, 5, 3, 3});
}

TEST_CASE("conv_transpose2d on a batch in several chunks equals per-sample results, forward and backward") {
  const TCase k{5, 16, 8, 8, 40, 4, 2, 1};
  std::mt19937 rng(22);
  Tensor x = cgtest::random_tensor(Shape{k.N, k.C, k.H, k.W}, rng),
         w = cgtest::random_tensor(Shape{k.C, k.OC, k.K, k.K}, rng), b = cgtest::random_tensor(Shape{k.OC}, rng);
  for (Tensor* t : {&x, &w, &b}) t->set_requires_grad(true);
  // A small scratch budget: the batch of 5 runs as chunks of 2, 2 and 1 samples.
  struct Budget {
    int64_t old;
    ~Budget() { cpu::set_batch_chunk_budget(old); }
  } budget{cpu::set_batch_chunk_budget(2 * (k.OC * k.K * k.K + k.C) * k.H * k.W)};
  REQUIRE(cpu::batch_chunk(k.N, (k.OC * k.K * k.K + k.C) * k.H * k.W) == 2);
  Tape tape;
  Tensor out = conv_transpose2d(&tape, x, w, b, 2, 1);
  const std::vector<double> bv = b.to_vector();
  CHECK_CLOSE_T(out.to_vector(), direct_conv_transpose2d(k, x.to_vector(), w.to_vector(), &bv), 1e-12, 1e-12);
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
    Tensor yn = conv_transpose2d(&t1, xn, w1, b1, 2, 1);
    t1.backward(yn, seed.slice_view(n * ys, yn.shape()).clone());
    for (double v : xn.grad().to_vector()) dx.push_back(v);
  }
  CHECK_CLOSE_T(x.grad().to_vector(), dx, 1e-12, 1e-12);
  CHECK_CLOSE_T(w.grad(), w1.grad(), 1e-12, 1e-12);
  CHECK_CLOSE_T(b.grad(), b1.grad(), 1e-12, 1e-12);
}
