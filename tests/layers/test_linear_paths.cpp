// The fully connected layer's own float paths against sums in double: the narrow kernels
// (kernels/cpu/linear_narrow.cpp, at most 8 outputs: D's heads) at every output count with
// feature counts that leave tails past the vectors, and the short-input forward
// (linear_short.cpp: G's projection); each gives the same bits on 1 to 4 threads.
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/cpu/linear.h"
#include "kernels/cpu/linear_narrow.h"
#include "kernels/cpu/linear_short.h"
#include "kernels/cpu/threads.h"
#include "support/check.h"

using namespace cg;

namespace {

struct Data {
  int64_t B, C, OC;
  std::vector<float> x, w, b, g;  // inputs (B,C), weights (OC,C), bias (OC), output gradient (B,OC)
  Data(int64_t B_, int64_t C_, int64_t OC_) : B(B_), C(C_), OC(OC_) {
    std::mt19937 rng(uint32_t(B * 1000 + C * 10 + OC));
    std::uniform_real_distribution<float> u(-1, 1);
    for (auto [v, n] : {std::pair{&x, B * C}, {&w, OC * C}, {&b, OC}, {&g, B * OC}}) {
      v->resize(size_t(n));
      for (float& e : *v) e = u(rng);
    }
  }
};

// |got - want| <= 1e-5 * (sum of |terms|) everywhere: float sums of C products, checked
// in double; the first element off is reported.
void check_sums(const char* what, const std::vector<float>& got, const std::vector<double>& want,
                const std::vector<double>& scale) {
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::fabs(got[i] - want[i]) <= 1e-5 * scale[i] + 1e-6) && bad++ == 0) first = i;
  INFO(std::string(what) << ": " << bad << " of " << got.size() << " off; first at " << first << ": " << got[first] << " against "
            << want[first]);
  CHECK(bad == 0);
}

}  // namespace

// out = x @ w^T + b in double, and the sums of the terms' magnitudes.
static void forward_ref(const Data& d, bool bias, std::vector<double>& want, std::vector<double>& scale) {
  want.assign(size_t(d.B * d.OC), 0.0), scale.assign(size_t(d.B * d.OC), 0.0);
  for (int64_t b = 0; b < d.B; ++b)
    for (int64_t o = 0; o < d.OC; ++o) {
      double s = bias ? d.b[size_t(o)] : 0.0, a = std::fabs(s);
      for (int64_t k = 0; k < d.C; ++k) {
        const double t = double(d.x[size_t(b * d.C + k)]) * d.w[size_t(o * d.C + k)];
        s += t, a += std::fabs(t);
      }
      want[size_t(b * d.OC + o)] = s, scale[size_t(b * d.OC + o)] = a;
    }
}

// w + g^T @ x in double (the weight gradient added onto the weights, as onto any values
// already there), and the sums of the terms' magnitudes.
static void weight_grad_ref(const Data& d, std::vector<double>& want, std::vector<double>& scale) {
  want.assign(d.w.size(), 0.0), scale.assign(d.w.size(), 0.0);
  for (int64_t o = 0; o < d.OC; ++o)
    for (int64_t k = 0; k < d.C; ++k) {
      double s = d.w[size_t(o * d.C + k)], a = std::fabs(s);
      for (int64_t b = 0; b < d.B; ++b) {
        const double t = double(d.g[size_t(b * d.OC + o)]) * d.x[size_t(b * d.C + k)];
        s += t, a += std::fabs(t);
      }
      want[size_t(o * d.C + k)] = s, scale[size_t(o * d.C + k)] = a;
    }
}

TEST_CASE("the short-input linear forward and weight gradient (G's projection) match double sums") {
  if (!cpu::linear_short_applies(100, 4096)) {
    MESSAGE("this build has no AVX-512: the short-input path is off and linear_forward uses BLAS");
    return;
  }
  for (auto [B, C, OC] : {std::tuple<int64_t, int64_t, int64_t>{64, 100, 4096}, {7, 3, 128}, {1, 256, 64}})
    for (bool bias : {true, false}) {
      INFO("B " << B << " C " << C << " OC " << OC << (bias ? " with bias" : ""));
      REQUIRE(cpu::linear_short_applies(C, OC));
      const Data d(B, C, OC);
      std::vector<float> out(size_t(B * OC), NAN);
      cpu::linear_forward(out.data(), d.x.data(), d.w.data(), bias ? d.b.data() : nullptr, B, C, OC);
      std::vector<double> want, scale;
      forward_ref(d, bias, want, scale);
      check_sums("forward", out, want, scale);
      // the weight gradient, added onto values already there
      std::vector<float> dw(d.w);
      cpu::linear_backward(static_cast<float*>(nullptr), dw.data(), static_cast<float*>(nullptr), d.g.data(),
                           d.x.data(), d.w.data(), B, C, OC);
      std::vector<double> wdw, sdw;
      weight_grad_ref(d, wdw, sdw);
      check_sums("weight gradient", dw, wdw, sdw);
    }
  CHECK_FALSE(cpu::linear_short_applies(257, 4096));  // too many inputs
  CHECK_FALSE(cpu::linear_short_applies(100, 100));   // outputs not whole 64-column blocks
}

TEST_CASE("the narrow linear kernels match double sums at every output count and tail") {
  for (int64_t OC = 1; OC <= cpu::kNarrowMaxOut; ++OC)
    for (auto [B, C] : {std::pair<int64_t, int64_t>{64, 4096}, {3, 100}, {5, 47}, {2, 16}}) {
      INFO("B " << B << " C " << C << " OC " << OC);
      const Data d(B, C, OC);
      // forward, with the bias
      std::vector<float> out(size_t(B * OC), NAN);
      cpu::linear_forward(out.data(), d.x.data(), d.w.data(), d.b.data(), B, C, OC);
      std::vector<double> want, scale;
      forward_ref(d, true, want, scale);
      check_sums("forward", out, want, scale);
      // input and weight gradients, added onto values already there
      std::vector<float> dx(d.x), dw(d.w);
      cpu::linear_backward(dx.data(), dw.data(), static_cast<float*>(nullptr), d.g.data(), d.x.data(), d.w.data(), B,
                           C, OC);
      std::vector<double> wdx(dx.size()), sdx(dx.size()), wdw, sdw;
      weight_grad_ref(d, wdw, sdw);
      for (int64_t b = 0; b < B; ++b)
        for (int64_t k = 0; k < C; ++k) {
          double s = d.x[size_t(b * C + k)], a = std::fabs(s);
          for (int64_t o = 0; o < OC; ++o) {
            const double t = double(d.g[size_t(b * OC + o)]) * d.w[size_t(o * C + k)];
            s += t, a += std::fabs(t);
          }
          wdx[size_t(b * C + k)] = s, sdx[size_t(b * C + k)] = a;
        }
      check_sums("input gradient", dx, wdx, sdx);
      check_sums("weight gradient", dw, wdw, sdw);
    }
}

TEST_CASE("the narrow and short-input linear kernels give the same bits on 1 to 4 threads") {
  const Data d(64, 4096, 5), g(64, 100, 4096);
  std::vector<std::vector<float>> runs;
  for (int t : {1, 2, 3, 4}) {
    const int prev = cpu::set_compute_threads(t);
    std::vector<float> out(size_t(d.B * d.OC)), dx(d.x.size(), 0.5f), dw(d.w.size(), 0.25f), gout(size_t(64 * 4096));
    cpu::linear_forward(out.data(), d.x.data(), d.w.data(), d.b.data(), d.B, d.C, d.OC);
    cpu::linear_forward(gout.data(), g.x.data(), g.w.data(), static_cast<const float*>(nullptr), g.B, g.C, g.OC);
    std::vector<float> gdw(g.w.size(), 0.125f);
    cpu::linear_backward(static_cast<float*>(nullptr), gdw.data(), static_cast<float*>(nullptr), g.g.data(), g.x.data(),
                         g.w.data(), g.B, g.C, g.OC);
    gout.insert(gout.end(), gdw.begin(), gdw.end());
    cpu::linear_backward(dx.data(), dw.data(), static_cast<float*>(nullptr), d.g.data(), d.x.data(), d.w.data(), d.B,
                         d.C, d.OC);
    cpu::set_compute_threads(prev);
    std::vector<float> all(out);
    all.insert(all.end(), dx.begin(), dx.end());
    all.insert(all.end(), dw.begin(), dw.end());
    all.insert(all.end(), gout.begin(), gout.end());
    runs.push_back(all);
    CHECK(std::memcmp(runs.back().data(), runs[0].data(), runs[0].size() * sizeof(float)) == 0);
  }
}
