// The autograd tape. A forward op that has an input needing a gradient appends
// one Record {op, backward function, named inputs, output, named saved tensors,
// named scalar args}; Tape::backward walks the records in reverse and each backward
// function accumulates (+=) into the gradients of the inputs that need one.
#pragma once
#include <concepts>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tensor.h"

namespace cg {

// A tensor or scalar as a record holds it: with a name ("x", "mean", "stride"), or
// without one for the variadic ops (concat, weighted_sum) that go by position.
struct Slot {
  Slot(const Tensor& t) : tensor(t) {}  // NOLINT: unnamed, {x}
  Slot(const char* n, const Tensor& t) : name(n), tensor(t) {}
  const char* name = "";
  Tensor tensor;
};
struct Slots {
  std::vector<Tensor> tensors;
  std::vector<const char*> names;
  Slots() = default;
  Slots(std::initializer_list<Slot> l);
  // A variadic op's tensors, unnamed (a template so that {x} never picks it).
  template <class V>
    requires std::same_as<V, std::vector<Tensor>>
  Slots(const V& v) : tensors(v), names(v.size(), "") {}
};
struct Arg {
  Arg(double v) : value(v) {}  // NOLINT: unnamed
  Arg(const char* n, double v) : name(n), value(v) {}
  const char* name = "";
  double value;
};
struct Args {
  std::vector<double> values;
  std::vector<const char*> names;
  Args() = default;
  Args(std::initializer_list<Arg> l);
  template <class V>
    requires std::same_as<V, std::vector<double>>
  Args(const V& v) : values(v), names(v.size(), "") {}
};

struct Record;
// A named function, not a lambda, so profiles and stack traces read well.
using BackwardFn = void (*)(Record& r);

struct Record {
  const char* op = "";             // "conv2d", "batch_norm2d", ...
  BackwardFn backward = nullptr;
  const char* backward_name = "";  // "conv2d_backward"
  std::vector<Tensor> inputs;      // undefined entries allowed (no bias)
  std::vector<const char*> input_names;
  Tensor output;
  std::vector<Tensor> saved;       // what the backward needs beyond inputs/output
  std::vector<const char*> saved_names;
  std::vector<double> args;        // scalar attributes (stride, padding, slope, eps, ...)
  std::vector<const char*> arg_names;
  const char* layer = nullptr;     // the layer recording it ("D.conv2"), for its backward's scope
  uint64_t prof_entry = 0;         // while profiling: that layer's entry (its shape names the backward's rows)

  // Named access for backward functions; an unknown name is a programming error.
  const Tensor& in(std::string_view name) const { return inputs[index(input_names, name, "input")]; }
  const Tensor& kept(std::string_view name) const { return saved[index(saved_names, name, "saved tensor")]; }
  double arg(std::string_view name) const { return args[index(arg_names, name, "arg")]; }
  // An optional arg (recorded only when it differs from its default, so most dumps omit it).
  double arg_or(std::string_view name, double dflt) const;
  bool needs_grad(std::string_view name) const { return in(name).requires_grad(); }
  Tensor& grad_of(std::string_view name) { return grad_of(index(input_names, name, "input")); }
  // Positional access, for the variadic ops.
  bool needs_grad(size_t i) const { return i < inputs.size() && inputs[i].requires_grad(); }
  Tensor& grad_of(size_t i) { return inputs[i].ensure_grad(); }  // accumulate into this
  // For an op that writes every element of input name's gradient: when the input has no
  // gradient yet (on either device), a new uninitialised buffer and *fresh = true, and
  // the op assigns instead of accumulating (no zero fill, no read of zeros); otherwise
  // grad_of(name) and *fresh = false; an undefined tensor when the input needs no gradient.
  Tensor grad_for_write(std::string_view name, bool* fresh);
  Tensor dout() const { return output.grad(); }

 private:
  size_t index(const std::vector<const char*>& names, std::string_view name, const char* what) const;
};

class Tape {
 public:
  // True when an op with these inputs must be recorded (some input needs a gradient).
  static bool wants(const Tape* tape, std::initializer_list<const Tensor*> inputs);
  static bool wants(const Tape* tape, const std::vector<Tensor>& inputs);

  // Appends r; marks r.output as needing a gradient.
  void record(Record r);
  // Builds and appends a record (what TAPE_RECORD expands to).
  void record(const char* op, BackwardFn bwd, const char* bwd_name, Slots in, const Tensor& out, Slots saved,
              Args args);

  // Reverse-mode sweep from root. A scalar root is seeded with 1; otherwise pass
  // seed, the gradient of some scalar with respect to root (same shape).
  // A tape can be swept once: a second backward is an error, not silent garbage.
  void backward(const Tensor& root, const Tensor& seed = Tensor());
  // The sweep alone, from the gradient the root already holds (root.grad(), set by the
  // caller): what backward runs after seeding. bench_layers times it, so an op's backward
  // is timed without copying its seed (PyTorch's autograd.grad takes grad_outputs as given).
  void backward_from_grad(const Tensor& root);

  // One line per op with tensor ids: TapeGraph::compact (engine/tape_graph.h, which also
  // gives the full view of `covergan train --dump-tape` and the Graphviz one).
  std::string dump() const;
  size_t size() const { return records_.size(); }
  bool consumed() const { return consumed_; }
  const std::vector<Record>& records() const { return records_; }
  void clear();  // drop the records (and the buffers they saved); the tape can be used again

 private:
  void check_sweepable(const Tensor& root) const;
  void sweep();  // every record's backward, newest first; then the tape is consumed

  std::vector<Record> records_;
  bool consumed_ = false;
};

// Records op on tape if any input needs a gradient. Use as
//   TAPE_RECORD(tape, "conv2d", conv2d_backward, ({{"x", x}, {"w", w}, {"b", b}}), out,
//               ({{"mean", mean}}), ({{"stride", stride}, {"pad", pad}}));
#define TAPE_RECORD(tape, op_name, bwd, inputs_, output_, saved_, args_)         \
  do {                                                                           \
    ::cg::Slots in_ inputs_;                                                     \
    if (::cg::Tape::wants((tape), in_.tensors))                                  \
      (tape)->record(op_name, bwd, #bwd, std::move(in_), output_, ::cg::Slots saved_, \
                     ::cg::Args args_);                                          \
  } while (0)

}  // namespace cg
