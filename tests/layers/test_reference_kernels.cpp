// The fast CPU kernels (kernels/cpu/: im2col + GEMM, folded batch-norm formulas) against
// the direct-loop references (kernels/cpu/reference/), forward and backward, in double
// and in float, on the paper's 4x4 stride-2 layers at small widths, odd sizes and batches.
#include <cmath>
#include <functional>
#include <limits>

#include "kernels/cpu/batchnorm2d.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/conv_k4s2_direct.h"
#include "kernels/cpu/conv_transpose2d.h"
#include "kernels/cpu/im2col.h"
#include "kernels/cpu/linear.h"
#include "kernels/cpu/reference/batchnorm2d_ref.h"
#include "kernels/cpu/reference/conv2d_ref.h"
#include "kernels/cpu/reference/conv_transpose2d_ref.h"
#include "kernels/cpu/reference/linear_ref.h"
#include "support/check.h"

using namespace cg;

namespace {

// Tolerances. Double: sums of at most a few thousand O(1) products, so 1e-12 leaves ~100x
// room over round-off. Float: both sides see the same float inputs; the reference sums in
// double, the fast kernels in float (BLAS), so the gap is float round-off of a sum of n terms,
// ~1e-7 * sqrt(n) relative to the sum's scale: elementwise 2e-5 absolute + 2e-5 relative,
// and NMSE (sum (a-b)^2 / sum b^2, in double) under 1e-11 (float epsilon^2 is 1.4e-14).
constexpr double kTolD = 1e-12;
constexpr double kTolF = 2e-5;
constexpr double kNmseF = 1e-11;

struct Tol {
  double atol, rtol, nmse;
};
template <class T>
Tol tol_for() {
  return std::is_same_v<T, double> ? Tol{kTolD, kTolD, 1e-24} : Tol{kTolF, kTolF, kNmseF};
}

std::vector<double> uniform(size_t n, std::mt19937& rng, double scale = 1.0) {
  std::uniform_real_distribution<double> u(-scale, scale);
  std::vector<double> v(n);
  for (double& e : v) e = u(rng);
  return v;
}

template <class T>
std::vector<T> as(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

template <class T>
std::vector<double> widen(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}

// Elementwise within tol and NMSE under tol.nmse; a failure names the tensor and the worst element.
template <class T>
void check_same(const char* what, const std::vector<T>& fast, const std::vector<T>& ref, Tol tol) {
  const auto cmp = cgtest::compare(widen(fast), widen(ref), tol.atol, tol.rtol);
  INFO(std::string(what) << ": " << cmp.str());
  CHECK(cmp.ok);
  CHECK(cmp.nmse <= tol.nmse);
}

struct ConvCase {
  int64_t N, C, H, W, OC, K, stride, pad;
};

std::string describe(const ConvCase& k) {
  return detail::cat("x (", k.N, ",", k.C, ",", k.H, ",", k.W, ") OC ", k.OC, " K ", k.K, " stride ", k.stride,
                     " pad ", k.pad);
}

int64_t conv_out(int64_t n, const ConvCase& k) { return (n + 2 * k.pad - k.K) / k.stride + 1; }
int64_t tconv_out(int64_t n, const ConvCase& k) { return (n - 1) * k.stride - 2 * k.pad + k.K; }

// conv2d and conv_transpose2d share one signature; only the output size differs.
template <class T>
using ConvFwd = void (*)(T*, const T*, const T*, const T*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                         int64_t, int64_t);
template <class T>
using ConvBwd = void (*)(T*, T*, T*, const T*, const T*, const T*, int64_t, int64_t, int64_t, int64_t, int64_t,
                         int64_t, int64_t, int64_t);
// The fast backward's last argument: accumulate into dinp (true) or assign a fresh one.
template <class T>
using FastConvBwd = void (*)(T*, T*, T*, const T*, const T*, const T*, int64_t, int64_t, int64_t, int64_t, int64_t,
                             int64_t, int64_t, int64_t, bool);

template <class T>
struct ConvPair {
  ConvFwd<T> fast_fwd, ref_fwd;
  FastConvBwd<T> fast_bwd;
  ConvBwd<T> ref_bwd;
  bool transposed;
};

template <class T>
ConvPair<T> conv2d_pair() {
  return {&cpu::conv2d_forward<T>, &cpu::ref::conv2d_forward<T>, &cpu::conv2d_backward<T>,
          &cpu::ref::conv2d_backward<T>, false};
}
template <class T>
ConvPair<T> conv_transpose2d_pair() {
  return {&cpu::conv_transpose2d_forward<T>, &cpu::ref::conv_transpose2d_forward<T>,
          &cpu::conv_transpose2d_backward<T>, &cpu::ref::conv_transpose2d_backward<T>, true};
}

// Forward, then backward into gradients that already hold values (both must add onto them),
// fast vs reference. need_x / need_w: which of dinp / dweight the backward is asked for.
template <class T>
void compare_conv(const ConvPair<T>& op, const ConvCase& k, bool need_x = true, bool need_w = true) {
  const int64_t OH = op.transposed ? tconv_out(k.H, k) : conv_out(k.H, k);
  const int64_t OW = op.transposed ? tconv_out(k.W, k) : conv_out(k.W, k);
  const size_t nx = size_t(k.N * k.C * k.H * k.W), nw = size_t(k.OC * k.C * k.K * k.K);
  const size_t ny = size_t(k.N * k.OC * OH * OW);
  std::mt19937 rng(uint32_t(k.N * 7919 + k.C * 104729 + k.H * 31 + k.K * 7 + k.stride));
  const auto x = as<T>(uniform(nx, rng)), w = as<T>(uniform(nw, rng)), b = as<T>(uniform(size_t(k.OC), rng));
  const auto dy = as<T>(uniform(ny, rng));
  const auto dx0 = as<T>(uniform(nx, rng)), dw0 = as<T>(uniform(nw, rng)), db0 = as<T>(uniform(size_t(k.OC), rng));
  const Tol tol = tol_for<T>();

  std::vector<T> y_fast(ny), y_ref(ny);
  op.fast_fwd(y_fast.data(), x.data(), w.data(), b.data(), k.N, k.C, k.H, k.W, k.OC, k.K, k.stride, k.pad);
  op.ref_fwd(y_ref.data(), x.data(), w.data(), b.data(), k.N, k.C, k.H, k.W, k.OC, k.K, k.stride, k.pad);
  check_same("out", y_fast, y_ref, tol);

  auto dx_fast = dx0, dw_fast = dw0, db_fast = db0, dx_ref = dx0, dw_ref = dw0, db_ref = db0;
  op.fast_bwd(need_x ? dx_fast.data() : nullptr, need_w ? dw_fast.data() : nullptr, db_fast.data(), dy.data(),
              x.data(), w.data(), k.N, k.C, k.H, k.W, k.OC, k.K, k.stride, k.pad, true);
  op.ref_bwd(need_x ? dx_ref.data() : nullptr, need_w ? dw_ref.data() : nullptr, db_ref.data(), dy.data(), x.data(),
             w.data(), k.N, k.C, k.H, k.W, k.OC, k.K, k.stride, k.pad);
  check_same("dinp", dx_fast, dx_ref, tol);
  check_same("dweight", dw_fast, dw_ref, tol);
  check_same("dbias", db_fast, db_ref, tol);
  // A gradient that was not asked for is left exactly as it was.
  if (!need_x) CHECK(dx_fast == dx0);
  if (!need_w) CHECK(dw_fast == dw0);
  if (!need_x) return;
  // Assigning into a fresh dinp (accumulate false): every element written, none read (the
  // buffer starts as NaN), equal to the reference added onto zeros; dweight still adds.
  std::vector<T> dx_new(nx, std::numeric_limits<T>::quiet_NaN()), dx_zero(nx, T(0));
  auto dw_new = dw0, db_new = db0, dw_zero = dw0, db_zero = db0;
  op.fast_bwd(dx_new.data(), need_w ? dw_new.data() : nullptr, db_new.data(), dy.data(), x.data(), w.data(), k.N,
              k.C, k.H, k.W, k.OC, k.K, k.stride, k.pad, false);
  op.ref_bwd(dx_zero.data(), need_w ? dw_zero.data() : nullptr, db_zero.data(), dy.data(), x.data(), w.data(), k.N,
             k.C, k.H, k.W, k.OC, k.K, k.stride, k.pad);
  check_same("dinp assigned", dx_new, dx_zero, tol);
  check_same("dweight beside an assigned dinp", dw_new, dw_zero, tol);
}

// conv2d: the discriminator's 4x4 stride-2 pad-1 layers (64 -> 32 -> ... at small sizes and
// widths), odd sizes, strides that leave input rows unread, batch 1, padding >= kernel.
const std::vector<ConvCase> kConvCases = {
    {2, 3, 16, 16, 4, 4, 2, 1}, {3, 6, 8, 8, 8, 4, 2, 1},  {2, 8, 4, 4, 5, 4, 2, 1}, {2, 3, 7, 5, 4, 3, 1, 1},
    {1, 2, 9, 6, 3, 5, 2, 2},   {3, 2, 11, 7, 2, 3, 3, 0}, {1, 4, 5, 5, 2, 1, 1, 0}, {2, 2, 5, 5, 3, 1, 2, 1},
    {2, 3, 13, 10, 2, 4, 3, 2}, {4, 3, 9, 9, 2, 4, 2, 1},
};
// conv_transpose2d: the generator's 4x4 stride-2 pad-1 layers (4 -> 8 -> 16), odd sizes,
// stride > kernel (outputs no input reaches), batch 1.
const std::vector<ConvCase> kTconvCases = {
    {2, 8, 4, 4, 4, 4, 2, 1}, {3, 4, 8, 8, 3, 4, 2, 1}, {1, 6, 2, 2, 5, 4, 2, 1}, {2, 3, 3, 5, 2, 4, 3, 1},
    {2, 4, 3, 6, 3, 5, 3, 2}, {3, 2, 7, 5, 4, 3, 2, 0}, {1, 5, 4, 4, 2, 1, 1, 0}, {2, 1, 2, 9, 2, 3, 3, 1},
    {2, 3, 5, 3, 2, 2, 3, 0}, {4, 3, 5, 5, 2, 4, 2, 1},
};

}  // namespace

TEST_CASE("conv2d fast kernels match the reference forward and backward in double and float") {
  for (const ConvCase& k : kConvCases) {
    INFO(describe(k));
    {
      INFO("double");
      compare_conv(conv2d_pair<double>(), k);
    }
    {
      INFO("float");
      compare_conv(conv2d_pair<float>(), k);
    }
  }
}

TEST_CASE("conv_transpose2d fast kernels match the reference forward and backward in double and float") {
  for (const ConvCase& k : kTconvCases) {
    INFO(describe(k));
    {
      INFO("double");
      compare_conv(conv_transpose2d_pair<double>(), k);
    }
    {
      INFO("float");
      compare_conv(conv_transpose2d_pair<float>(), k);
    }
  }
}

TEST_CASE("the float convolutions match the reference on the im2col + GEMM path and on the implicit-GEMM one") {
  // The k4s2 layers in float take the implicit GEMM by default on AVX-512 builds and im2col
  // + GEMM elsewhere: both paths, whichever this build prefers.
  for (bool direct : {false, true}) {
    INFO("implicit GEMM " << (direct ? "on" : "off"));
    const bool was = cpu::set_conv_k4s2_direct_enabled(direct);
    for (const ConvCase& k : kConvCases) {
      INFO("conv2d " << describe(k));
      compare_conv(conv2d_pair<float>(), k);
    }
    for (const ConvCase& k : kTconvCases) {
      INFO("conv_transpose2d " << describe(k));
      compare_conv(conv_transpose2d_pair<float>(), k);
    }
    compare_conv(conv2d_pair<float>(), ConvCase{3, 4, 8, 8, 5, 4, 2, 1}, true, false);
    compare_conv(conv2d_pair<float>(), ConvCase{3, 4, 8, 8, 5, 4, 2, 1}, false, true);
    cpu::set_conv_k4s2_direct_enabled(was);
  }
}

TEST_CASE("conv fast backward matches the reference with only dinp or only dweight asked for, and in chunks") {
  for (auto [need_x, need_w] : {std::pair{true, false}, {false, true}}) {
    INFO("dinp " << need_x << ", dweight " << need_w);
    compare_conv(conv2d_pair<double>(), ConvCase{3, 4, 8, 8, 5, 4, 2, 1}, need_x, need_w);
    compare_conv(conv_transpose2d_pair<double>(), ConvCase{3, 5, 4, 4, 4, 4, 2, 1}, need_x, need_w);
  }
  // A scratch budget of two samples: the batch of 5 runs as chunks of 2, 2 and 1.
  struct Budget {
    int64_t old;
    ~Budget() { cpu::set_batch_chunk_budget(old); }
  } budget{cpu::set_batch_chunk_budget(2 * (4 * 4 * 4 + 6) * 4 * 4)};
  REQUIRE(cpu::batch_chunk(5, (4 * 4 * 4 + 6) * 4 * 4) == 2);
  compare_conv(conv2d_pair<double>(), ConvCase{5, 4, 8, 8, 6, 4, 2, 1});           // C*K*K + OC = 70, L = 16
  compare_conv(conv_transpose2d_pair<float>(), ConvCase{5, 6, 4, 4, 4, 4, 2, 1});  // OC*K*K + C = 70, HW = 16
}

namespace {

template <class T>
void compare_linear(int64_t B, int64_t C, int64_t OC) {
  std::mt19937 rng(uint32_t(B * 1000 + C * 10 + OC));
  const size_t nx = size_t(B * C), nw = size_t(OC * C), ny = size_t(B * OC);
  const auto x = as<T>(uniform(nx, rng)), w = as<T>(uniform(nw, rng)), b = as<T>(uniform(size_t(OC), rng));
  const auto dy = as<T>(uniform(ny, rng));
  const auto dx0 = as<T>(uniform(nx, rng)), dw0 = as<T>(uniform(nw, rng)), db0 = as<T>(uniform(size_t(OC), rng));
  const Tol tol = tol_for<T>();
  std::vector<T> y_fast(ny), y_ref(ny);
  cpu::linear_forward(y_fast.data(), x.data(), w.data(), b.data(), B, C, OC);
  cpu::ref::linear_forward(y_ref.data(), x.data(), w.data(), b.data(), B, C, OC);
  check_same("out", y_fast, y_ref, tol);
  auto dx_fast = dx0, dw_fast = dw0, db_fast = db0, dx_ref = dx0, dw_ref = dw0, db_ref = db0;
  cpu::linear_backward(dx_fast.data(), dw_fast.data(), db_fast.data(), dy.data(), x.data(), w.data(), B, C, OC);
  cpu::ref::linear_backward(dx_ref.data(), dw_ref.data(), db_ref.data(), dy.data(), x.data(), w.data(), B, C, OC);
  check_same("dinp", dx_fast, dx_ref, tol);
  check_same("dweight", dw_fast, dw_ref, tol);
  check_same("dbias", db_fast, db_ref, tol);
}

constexpr double kEps = 1e-5, kMomentum = 0.1;

// Training: forward with batch statistics and the running-stat update, then the backward.
// The fast kernel keeps (mean, invstd), the reference (mean, var); each backward gets its own.
template <class T>
void compare_bn_train(int64_t N, int64_t C, int64_t HW) {
  std::mt19937 rng(uint32_t(N * 100 + C * 10 + HW));
  const size_t n = size_t(N * C * HW), c = size_t(C);
  auto xd = uniform(n, rng, 2.0);
  for (double& v : xd) v += 3.0;  // a mean far from 0
  const auto x = as<T>(xd), g = as<T>(uniform(c, rng)), b = as<T>(uniform(c, rng)), dy = as<T>(uniform(n, rng));
  const auto rm0 = as<T>(uniform(c, rng)), rv0 = as<T>(std::vector<double>(c, 1.5));
  const auto dx0 = as<T>(uniform(n, rng)), dg0 = as<T>(uniform(c, rng)), db0 = as<T>(uniform(c, rng));
  const Tol tol = tol_for<T>();

  std::vector<T> y_fast(n), mean_fast(c), invstd_fast(c), rm_fast = rm0, rv_fast = rv0;
  cpu::batch_norm2d_forward_train(y_fast.data(), mean_fast.data(), invstd_fast.data(), rm_fast.data(), rv_fast.data(),
                                 x.data(), g.data(), b.data(), N, C, HW, kMomentum, kEps);
  std::vector<T> y_ref(n), mean_ref(c), var_ref(c), invstd_ref(c), rm_ref = rm0, rv_ref = rv0;
  cpu::ref::batch_norm2d_forward_train(y_ref.data(), mean_ref.data(), var_ref.data(), x.data(), g.data(), b.data(), N,
                                      C, HW, kEps);
  cpu::ref::batch_norm2d_update_running(rm_ref.data(), rv_ref.data(), mean_ref.data(), var_ref.data(), C, N * HW,
                                       kMomentum);
  for (size_t i = 0; i < c; ++i) invstd_ref[i] = T(1.0 / std::sqrt(double(var_ref[i]) + kEps));
  check_same("out", y_fast, y_ref, tol);
  check_same("mean", mean_fast, mean_ref, tol);
  check_same("invstd", invstd_fast, invstd_ref, tol);
  check_same("running_mean", rm_fast, rm_ref, tol);
  check_same("running_var", rv_fast, rv_ref, tol);

  auto dx_fast = dx0, dg_fast = dg0, db_fast = db0, dx_ref = dx0, dg_ref = dg0, db_ref = db0;
  cpu::batch_norm2d_backward(dx_fast.data(), dg_fast.data(), db_fast.data(), dy.data(), x.data(), g.data(),
                            mean_fast.data(), invstd_fast.data(), N, C, HW, true, kEps);
  cpu::ref::batch_norm2d_backward_train(dx_ref.data(), dg_ref.data(), db_ref.data(), dy.data(), x.data(), g.data(),
                                       mean_ref.data(), var_ref.data(), N, C, HW, kEps);
  check_same("dinp", dx_fast, dx_ref, tol);
  check_same("dgamma", dg_fast, dg_ref, tol);
  check_same("dbeta", db_fast, db_ref, tol);
}

// Eval: normalise with the running statistics; the backward treats them as constants.
template <class T>
void compare_bn_eval(int64_t N, int64_t C, int64_t HW) {
  std::mt19937 rng(uint32_t(N * 101 + C * 11 + HW));
  const size_t n = size_t(N * C * HW), c = size_t(C);
  const auto x = as<T>(uniform(n, rng, 2.0)), g = as<T>(uniform(c, rng)), b = as<T>(uniform(c, rng));
  const auto rm = as<T>(uniform(c, rng)), dy = as<T>(uniform(n, rng));
  std::vector<double> rvd;
  for (size_t i = 0; i < c; ++i) rvd.push_back(0.5 + 0.3 * double(i));
  const auto rv = as<T>(rvd);
  const auto dx0 = as<T>(uniform(n, rng)), dg0 = as<T>(uniform(c, rng)), db0 = as<T>(uniform(c, rng));
  const Tol tol = tol_for<T>();
  std::vector<T> y_fast(n), y_ref(n);
  cpu::batch_norm2d_forward_eval(y_fast.data(), x.data(), g.data(), b.data(), rm.data(), rv.data(), N, C, HW, kEps);
  cpu::ref::batch_norm2d_forward_eval(y_ref.data(), x.data(), g.data(), b.data(), rm.data(), rv.data(), N, C, HW,
                                     kEps);
  check_same("out", y_fast, y_ref, tol);
  std::vector<T> mean(c), invstd(c);
  cpu::batch_norm2d_eval_stats(mean.data(), invstd.data(), rm.data(), rv.data(), C, kEps);
  auto dx_fast = dx0, dg_fast = dg0, db_fast = db0, dx_ref = dx0, dg_ref = dg0, db_ref = db0;
  cpu::batch_norm2d_backward(dx_fast.data(), dg_fast.data(), db_fast.data(), dy.data(), x.data(), g.data(),
                            mean.data(), invstd.data(), N, C, HW, false, kEps);
  cpu::ref::batch_norm2d_backward_eval(dx_ref.data(), dg_ref.data(), db_ref.data(), dy.data(), x.data(), g.data(),
                                      rm.data(), rv.data(), N, C, HW, kEps);
  check_same("dinp", dx_fast, dx_ref, tol);
  check_same("dgamma", dg_fast, dg_ref, tol);
  check_same("dbeta", db_fast, db_ref, tol);
}

struct BnCase {
  int64_t N, C, HW;
};
// (N,C,H*W): the discriminator's 4x4 and 8x8 maps, odd sizes, batch 1, (N,C) after a linear layer.
const std::vector<BnCase> kBnCases = {{4, 8, 16}, {2, 6, 64}, {2, 3, 20}, {1, 2, 9},
                                      {3, 5, 21}, {6, 4, 1},  {3, 2, 1}};

}  // namespace

TEST_CASE("linear fast kernels match the reference forward and backward in double and float") {
  // Includes the paper's shapes at small widths: G's first layer (z + genre -> 4*4*C) and D's last.
  for (auto [B, C, OC] : {std::tuple{1, 1, 1}, {3, 5, 4}, {7, 33, 9}, {16, 110, 64}, {16, 256, 11}}) {
    INFO("B " << B << " C " << C << " OC " << OC);
    {
      INFO("double");
      compare_linear<double>(B, C, OC);
    }
    {
      INFO("float");
      compare_linear<float>(B, C, OC);
    }
  }
}

TEST_CASE("batchnorm2d fast kernels match the reference in training and eval mode in double and float") {
  for (const BnCase& k : kBnCases) {
    INFO("(N,C,HW) (" << k.N << "," << k.C << "," << k.HW << ")");
    compare_bn_train<double>(k.N, k.C, k.HW);
    compare_bn_eval<double>(k.N, k.C, k.HW);
    INFO("float");
    compare_bn_train<float>(k.N, k.C, k.HW);
    compare_bn_eval<float>(k.N, k.C, k.HW);
  }
}

namespace {

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

using Inputs = std::vector<std::vector<double>>;
using Forward = std::function<std::vector<double>(const Inputs&)>;
// Gradients of every input, given dout; the reference backward adds onto zeros.
using Backward = std::function<Inputs(const std::vector<double>& dout, const Inputs&)>;

Inputs zeros_like(const Inputs& in) {
  Inputs z;
  for (const auto& v : in) z.emplace_back(v.size(), 0.0);
  return z;
}

// Largest relative gap between the backward and central differences of L = sum_j R_j out_j,
// floored at 1e-3 of the input's largest gradient as cgtest::gradcheck does; `where` names it.
double fd_error(const Forward& forward, const Backward& backward, Inputs in, double h, std::string& where) {
  std::mt19937 rng(7);
  const std::vector<double> R = uniform(forward(in).size(), rng);
  const Inputs analytic = backward(R, in);
  double worst = 0;
  for (size_t k = 0; k < in.size(); ++k) {
    double gmax = 0;
    for (double g : analytic[k]) gmax = std::max(gmax, std::fabs(g));
    for (size_t i = 0; i < in[k].size(); ++i) {
      const double saved = in[k][i];
      in[k][i] = saved + h;
      const double fp = dot(forward(in), R);
      in[k][i] = saved - h;
      const double fm = dot(forward(in), R);
      in[k][i] = saved;
      const double numeric = (fp - fm) / (2 * h), a = analytic[k][i];
      const double rel = std::fabs(a - numeric) / std::max({std::fabs(a), std::fabs(numeric), 1e-3 * gmax, 1e-12});
      if (rel > worst || std::isnan(rel)) {
        worst = std::isnan(rel) ? INFINITY : rel;
        where = detail::cat("input ", k, " element ", i, ": analytic ", a, " numeric ", numeric);
      }
    }
  }
  return worst;
}

#define CHECK_FD(forward, backward, inputs, h)                                  \
  do {                                                                          \
    std::string where_;                                                         \
    const double err_ = fd_error((forward), (backward), (inputs), (h), where_); \
    INFO("worst: " << where_ << ", rel err " << err_);                          \
    CHECK(err_ <= 1e-6);                                                        \
  } while (0)

// x, w, b for a convolution case; the forward/backward pair is conv2d's or conv_transpose2d's.
template <bool Transposed>
void fd_conv(const ConvCase& k) {
  const auto fwd_fn = Transposed ? &cpu::ref::conv_transpose2d_forward<double> : &cpu::ref::conv2d_forward<double>;
  const auto bwd_fn = Transposed ? &cpu::ref::conv_transpose2d_backward<double> : &cpu::ref::conv2d_backward<double>;
  const int64_t OH = Transposed ? tconv_out(k.H, k) : conv_out(k.H, k);
  const int64_t OW = Transposed ? tconv_out(k.W, k) : conv_out(k.W, k);
  Forward f = [&](const Inputs& in) {
    std::vector<double> y(size_t(k.N * k.OC * OH * OW));
    fwd_fn(y.data(), in[0].data(), in[1].data(), in[2].data(), k.N, k.C, k.H, k.W, k.OC, k.K, k.stride, k.pad);
    return y;
  };
  Backward b = [&](const std::vector<double>& dy, const Inputs& in) {
    Inputs d = zeros_like(in);
    bwd_fn(d[0].data(), d[1].data(), d[2].data(), dy.data(), in[0].data(), in[1].data(), k.N, k.C, k.H, k.W, k.OC,
           k.K, k.stride, k.pad);
    return d;
  };
  std::mt19937 rng(3);
  const Inputs in = {uniform(size_t(k.N * k.C * k.H * k.W), rng), uniform(size_t(k.OC * k.C * k.K * k.K), rng),
                     uniform(size_t(k.OC), rng)};
  CHECK_FD(f, b, in, 1e-6);
}

}  // namespace

TEST_CASE("reference conv_transpose2d is the adjoint of reference conv2d and each one's dinp is the other") {
  // Shapes where conv_transpose2d maps conv2d's output back to (H,W): (H + 2p - K) divisible by s.
  const std::vector<ConvCase> cases = {{2, 3, 8, 8, 4, 4, 2, 1},  {1, 2, 7, 7, 3, 3, 1, 1},
                                       {3, 4, 9, 12, 2, 3, 3, 0}, {2, 5, 6, 10, 3, 5, 1, 2},
                                       {1, 3, 5, 5, 6, 1, 2, 0},  {2, 2, 11, 7, 3, 4, 1, 0}};
  for (const ConvCase& k : cases) {
    INFO(describe(k));
    REQUIRE((k.H + 2 * k.pad - k.K) % k.stride == 0);
    REQUIRE((k.W + 2 * k.pad - k.K) % k.stride == 0);
    const int64_t OH = conv_out(k.H, k), OW = conv_out(k.W, k);
    std::mt19937 rng(uint32_t(k.C * 31 + k.K));
    const size_t nx = size_t(k.N * k.C * k.H * k.W), ny = size_t(k.N * k.OC * OH * OW);
    // w (OC,C,K,K) is conv2d's weight and, read as (in=OC, out=C, K, K), conv_transpose2d's.
    const auto x = uniform(nx, rng), w = uniform(size_t(k.OC * k.C * k.K * k.K), rng), y = uniform(ny, rng);
    std::vector<double> cx(ny), ty(nx);
    cpu::ref::conv2d_forward(cx.data(), x.data(), w.data(), (const double*)nullptr, k.N, k.C, k.H, k.W, k.OC, k.K,
                             k.stride, k.pad);
    cpu::ref::conv_transpose2d_forward(ty.data(), y.data(), w.data(), (const double*)nullptr, k.N, k.OC, OH, OW, k.C,
                                       k.K, k.stride, k.pad);
    const double lhs = dot(y, cx), rhs = dot(ty, x);
    CHECK(std::fabs(lhs - rhs) <= 1e-12 * std::max(1.0, std::fabs(lhs)));
    // conv2d's input gradient of y is conv_transpose2d(y); conv_transpose2d's of x is conv2d(x).
    std::vector<double> dx(nx), dy(ny);
    cpu::ref::conv2d_backward(dx.data(), (double*)nullptr, (double*)nullptr, y.data(), x.data(), w.data(), k.N, k.C,
                              k.H, k.W, k.OC, k.K, k.stride, k.pad);
    CHECK_CLOSE_T(dx, ty, 1e-12, 1e-12);
    cpu::ref::conv_transpose2d_backward(dy.data(), (double*)nullptr, (double*)nullptr, x.data(), y.data(), w.data(),
                                        k.N, k.OC, OH, OW, k.C, k.K, k.stride, k.pad);
    CHECK_CLOSE_T(dy, cx, 1e-12, 1e-12);
  }
}

TEST_CASE("reference conv2d and conv_transpose2d backward match central finite differences") {
  fd_conv<false>(ConvCase{2, 2, 5, 4, 3, 3, 2, 1});
  fd_conv<true>(ConvCase{2, 2, 3, 3, 3, 4, 2, 1});
}

TEST_CASE("reference linear backward matches central finite differences") {
  const int64_t B = 3, C = 5, OC = 4;
  Forward f = [&](const Inputs& in) {
    std::vector<double> y(size_t(B * OC));
    cpu::ref::linear_forward(y.data(), in[0].data(), in[1].data(), in[2].data(), B, C, OC);
    return y;
  };
  Backward b = [&](const std::vector<double>& dy, const Inputs& in) {
    Inputs d = zeros_like(in);
    cpu::ref::linear_backward(d[0].data(), d[1].data(), d[2].data(), dy.data(), in[0].data(), in[1].data(), B, C, OC);
    return d;
  };
  std::mt19937 rng(5);
  CHECK_FD(f, b, (Inputs{uniform(B * C, rng), uniform(OC * C, rng), uniform(OC, rng)}), 1e-6);
}

TEST_CASE("reference batchnorm2d backward matches central finite differences in training and eval mode") {
  const int64_t N = 2, C = 3, HW = 6;
  const std::vector<double> rm = {0.3, -0.2, 0.1}, rv = {0.7, 1.2, 0.4};
  for (bool training : {true, false}) {
    INFO(std::string(training ? "training" : "eval"));
    Forward f = [&](const Inputs& in) {
      std::vector<double> y(size_t(N * C * HW)), mean(C), var(C);
      if (training)
        cpu::ref::batch_norm2d_forward_train(y.data(), mean.data(), var.data(), in[0].data(), in[1].data(),
                                            in[2].data(), N, C, HW, kEps);
      else
        cpu::ref::batch_norm2d_forward_eval(y.data(), in[0].data(), in[1].data(), in[2].data(), rm.data(), rv.data(),
                                           N, C, HW, kEps);
      return y;
    };
    Backward b = [&](const std::vector<double>& dy, const Inputs& in) {
      Inputs d = zeros_like(in);
      std::vector<double> y(size_t(N * C * HW)), mean(C), var(C);
      cpu::ref::batch_norm2d_forward_train(y.data(), mean.data(), var.data(), in[0].data(), in[1].data(), in[2].data(),
                                          N, C, HW, kEps);
      if (training)
        cpu::ref::batch_norm2d_backward_train(d[0].data(), d[1].data(), d[2].data(), dy.data(), in[0].data(),
                                             in[1].data(), mean.data(), var.data(), N, C, HW, kEps);
      else
        cpu::ref::batch_norm2d_backward_eval(d[0].data(), d[1].data(), d[2].data(), dy.data(), in[0].data(),
                                            in[1].data(), rm.data(), rv.data(), N, C, HW, kEps);
      return d;
    };
    std::mt19937 rng(9);
    // BatchNorm couples a whole channel, so h = 1e-5 (see test_batchnorm.cpp) keeps round-off small.
    CHECK_FD(f, b, (Inputs{uniform(N * C * HW, rng, 2.0), uniform(C, rng), uniform(C, rng)}), 1e-5);
  }
}
