// The autograd tape. A forward op that has an input needing a gradient appends
// one Record {op, backward function, inputs, output, saved tensors, scalar args};
// Tape::backward walks the records in reverse and each backward function
// accumulates (+=) into the gradients of the inputs that need one.
#pragma once
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace cg {

struct Record;
// A named function, not a lambda, so profiles and stack traces read well.
using BackwardFn = void (*)(Record& r);

struct Record {
  const char* op = "";             // "conv2d", "batch_norm2d", ...
  BackwardFn backward = nullptr;
  const char* backward_name = "";  // "conv2d_backward"
  std::vector<Tensor> inputs;      // undefined entries allowed (no bias)
  Tensor output;
  std::vector<Tensor> saved;       // what the backward needs beyond inputs/output
  std::vector<double> args;        // scalar attributes (stride, padding, slope, eps, ...)

  // Helpers for backward functions.
  bool needs_grad(size_t i) const { return i < inputs.size() && inputs[i].requires_grad(); }
  Tensor& grad_of(size_t i) { return inputs[i].ensure_grad(); }  // accumulate into this
  Tensor dout() const { return output.grad(); }
};

class Tape {
 public:
  // True when an op with these inputs must be recorded (some input needs a gradient).
  static bool wants(const Tape* tape, std::initializer_list<const Tensor*> inputs);

  // Appends r; marks r.output as needing a gradient.
  void record(Record r);

  // Reverse-mode sweep from root. A scalar root is seeded with 1; otherwise pass
  // seed, the gradient of some scalar with respect to root (same shape).
  // A tape can be swept once: a second backward is an error, not silent garbage.
  void backward(const Tensor& root, const Tensor& seed = Tensor());

  // One line per op: index, op, input shapes (* marks inputs that need a gradient), output.
  std::string dump() const;
  size_t size() const { return records_.size(); }
  bool consumed() const { return consumed_; }
  const std::vector<Record>& records() const { return records_; }
  void clear();  // drop the records (and the buffers they saved); the tape can be used again

 private:
  std::vector<Record> records_;
  bool consumed_ = false;
};

// Records op on tape if any input needs a gradient. Use as
//   TAPE_RECORD(tape, "linear", linear_backward, {x, w, b}, out, {saved...}, {args...});
#define TAPE_RECORD(tape, op_name, bwd, inputs_, output_, saved_, args_)              \
  do {                                                                                \
    if ((tape) != nullptr) {                                                          \
      ::cg::Record rec_;                                                              \
      rec_.op = op_name;                                                              \
      rec_.backward = bwd;                                                            \
      rec_.backward_name = #bwd;                                                      \
      rec_.inputs = std::vector<::cg::Tensor> inputs_;                                \
      rec_.output = output_;                                                          \
      rec_.saved = std::vector<::cg::Tensor> saved_;                                  \
      rec_.args = std::vector<double> args_;                                          \
      bool any_ = false;                                                              \
      for (auto& t_ : rec_.inputs) any_ = any_ || t_.requires_grad();                 \
      if (any_) (tape)->record(std::move(rec_));                                      \
    }                                                                                 \
  } while (0)

}  // namespace cg
