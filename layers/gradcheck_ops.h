// The one list of finite-difference checks: an entry per op (and per setting worth its
// own check), each building small random inputs away from the op's kinks. `covergan
// gradcheck` runs it and tests/layers/test_gradcheck.cpp runs it; a new op is checked
// everywhere by adding one entry to kGradcheckOps in gradcheck_ops.cpp.
#pragma once
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "engine/gradcheck.h"
#include "engine/philox.h"

namespace cg {

// What one entry hands the checker: every input (those with requires_grad are checked;
// labels and targets are not), their names, and the op as a function of a tape.
struct GradcheckCase {
  std::vector<Tensor> inputs;
  std::vector<std::string> names;
  std::function<Tensor(Tape*)> f;
};

// Where and in what an entry's inputs are made.
struct GradcheckTarget {
  DType dtype = DType::f64;
  Device device = Device::cpu;
  double h = 1e-6;  // the step the checker takes (set by run_op_gradcheck): kinks stay clear of it
};

struct OpGradcheck {
  std::string op;       // the op's name on the tape ("conv2d"): `covergan gradcheck conv2d`
  std::string setting;  // what this entry checks ("k3 s2 p1, odd sizes")
  // Builds the inputs from rng (on the host in f64, then converted to the target), away
  // from the op's kinks by more than the step h, so the finite differences are smooth.
  GradcheckCase (*make)(Philox& rng, const GradcheckTarget& target);
  double h64 = 1e-6, tol64 = 1e-6;  // step and tolerance (max relative error) in f64
  double h32 = 1e-2, tol32 = 2e-2;  // in f32: round-off of ~1e-7 per value needs a larger step
};

// Every op of layers/, in the order of the README's op table.
const std::vector<OpGradcheck>& gradcheck_ops();
// The entries whose op is one of names (all of them when names is empty); an unknown
// name throws one sentence that lists the known ones.
std::vector<OpGradcheck> select_gradcheck_ops(const std::vector<std::string>& names);

struct OpGradcheckResult {
  std::string op, setting;
  GradcheckResult result;
  double tolerance = 0;
  bool ok = false;
  std::string error;  // the op threw (a bad entry or a broken op): its message
};

// Runs one entry. Its inputs come from Philox(key), key derived from seed and the entry's
// op and setting, so `covergan gradcheck conv2d --seed 3` checks what the full run checks.
OpGradcheckResult run_op_gradcheck(const OpGradcheck& entry, const GradcheckTarget& target, uint64_t seed);

// The report of one entry: a heading line ("conv2d (k3 s2 p1)  ok  worst rel err ...") and
// one line per input with its worst element, analytic, numeric and relative error.
std::string format_op_gradcheck(const OpGradcheckResult& r);

// Runs entries in order, writing each report to out as it finishes, then a summary that
// names every failed check and its worst input. Returns the number of failed checks.
int run_gradchecks(const std::vector<OpGradcheck>& entries, const GradcheckTarget& target, uint64_t seed,
                   std::FILE* out);

}  // namespace cg
