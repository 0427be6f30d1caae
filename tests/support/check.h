// Test helpers: whole-tensor comparison that reports the worst element, NMSE in
// double, finite-difference gradient checks through the tape, and random tensors.
#pragma once
#include <doctest/doctest.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "engine/gradcheck.h"
#include "engine/tape.h"

namespace cgtest {

struct Compare {
  bool ok = true;
  double worst_excess = 0;  // max over elements of |a-b| - (atol + rtol*|b|)
  double max_abs = 0;
  int64_t worst_index = -1;
  double a_at = 0, b_at = 0;
  double nmse = 0;  // sum (a-b)^2 / sum b^2
  double max_ref = 0;  // max |b|
  double rel_l2() const;  // ||a-b|| / ||b||, the square root of nmse
  std::string str() const;
};

// Per element |a-b| <= atol + rtol*|b|; b is the reference.
Compare compare(const std::vector<double>& a, const std::vector<double>& b, double atol, double rtol);
Compare compare(const cg::Tensor& a, const cg::Tensor& b, double atol, double rtol);
// The same with atol = atol_of_max * max|b| (a tolerance on the reference's scale), plus
// slack[i] on element i when slack is given (same length as b).
Compare compare_scaled(const std::vector<double>& a, const std::vector<double>& b, double atol_of_max, double rtol,
                       const std::vector<double>* slack = nullptr);

#define CHECK_CLOSE_T(a, b, atol, rtol)                                  \
  do {                                                                   \
    auto cmp_ = ::cgtest::compare((a), (b), (atol), (rtol));             \
    INFO("compare " #a " vs " #b ": " << cmp_.str());                    \
    CHECK(cmp_.ok);                                                      \
  } while (0)

// Uniform(-scale, scale) values in a tensor of the given dtype (on the CPU).
cg::Tensor random_tensor(cg::Shape shape, std::mt19937& rng, double scale = 1.0, cg::DType dt = cg::DType::f64);

// After a second backward pass over the same upstream gradient, each tensor's
// gradient must be twice `once` (its gradient after the first pass): backward
// accumulates with += rather than overwriting.
void check_gradients_doubled(const std::vector<cg::Tensor*>& tensors, const std::vector<std::vector<double>>& once);

struct GradCheck {
  double max_rel_err = 0;
  std::string where;  // "input 1 (2,3) element 17: analytic 0.3 numeric 0.31 rel err 3.2e-02"
};

// cg::gradcheck (engine/gradcheck.h, the code `covergan gradcheck` runs) with step h:
// f builds an output from `inputs` (those with requires_grad are checked); the scalar is
// sum(out * R) for a fixed random R drawn from seed.
GradCheck gradcheck(const std::function<cg::Tensor(cg::Tape*)>& f, std::vector<cg::Tensor> inputs,
                    double h = 1e-6, uint32_t seed = 7);

#define CHECK_GRADCHECK(f, inputs, tol)                                   \
  do {                                                                    \
    auto gc_ = ::cgtest::gradcheck((f), (inputs));                        \
    INFO("gradcheck worst: " << gc_.where << " rel err " << gc_.max_rel_err); \
    CHECK(gc_.max_rel_err <= (tol));                                      \
  } while (0)

}  // namespace cgtest
