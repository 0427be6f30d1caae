// Finite-difference gradient checks through the tape: the analytic gradient of
// L = sum(f(inputs) * R), R a fixed random tensor, against central differences
// (L(x+h) - L(x-h)) / 2h, element by element, reporting each input's worst element.
// The tests (tests/support/check.h) and `covergan gradcheck` both call this one function.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/tape.h"

namespace cg {

struct GradcheckOptions {
  double h = 1e-6;     // the central-difference step, in the inputs' units
  uint32_t seed = 7;   // of R, the upstream gradient
  // The relative error's denominator is floored at this fraction of the input's largest
  // gradient, so an element whose gradient is ~0 is judged on the input's scale.
  double floor = 1e-3;
};

// One input's worst element.
struct InputGradcheck {
  std::string name;   // the input's name ("x", "w"), or "input K"
  Shape shape;
  int64_t worst = -1;  // element index (row-major)
  double analytic = 0, numeric = 0, rel_err = 0;
  // "w (4,3,3,3) element 17: analytic 0.3102 numeric 0.3102 rel err 3.1e-10"
  std::string str() const;
};

struct GradcheckResult {
  std::vector<InputGradcheck> inputs;  // one per input that needs a gradient, in order
  double max_rel_err = 0;              // over all of them (inf for a NaN)
  int worst_input = -1;                // index into inputs
  std::string where() const;           // the worst input's str(), or "no input needs a gradient"
};

// f builds an output from inputs (any float dtype, any device; those with requires_grad
// are checked, the others, labels or targets, are held fixed). f(nullptr) must compute the
// same function without a tape: anything random inside f must come from a fixed stream.
// names: one per input (may be empty).
GradcheckResult gradcheck(const std::function<Tensor(Tape*)>& f, std::vector<Tensor> inputs,
                          const std::vector<std::string>& names = {}, const GradcheckOptions& opt = {});

}  // namespace cg
