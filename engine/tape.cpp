// The tape's sweep and its printout; the ops' backward functions live with the ops.
#include "engine/tape.h"

#include "base/nvtx.h"
#include "engine/tape_graph.h"

namespace cg {

Slots::Slots(std::initializer_list<Slot> l) {
  for (const Slot& s : l) {
    tensors.push_back(s.tensor);
    names.push_back(s.name);
  }
}

Args::Args(std::initializer_list<Arg> l) {
  for (const Arg& a : l) {
    values.push_back(a.value);
    names.push_back(a.name);
  }
}

size_t Record::index(const std::vector<const char*>& names, std::string_view name, const char* what) const {
  for (size_t i = 0; i < names.size(); ++i)
    if (name == names[i]) return i;
  CG_FAIL(backward_name, ": the '", op, "' record has no ", what, " named '", name, "'");
}

double Record::arg_or(std::string_view name, double dflt) const {
  for (size_t i = 0; i < arg_names.size(); ++i)
    if (name == arg_names[i]) return args[i];
  return dflt;
}

bool Tape::wants(const Tape* tape, const std::vector<Tensor>& inputs) {
  if (!tape) return false;
  for (const Tensor& t : inputs)
    if (t.requires_grad()) return true;
  return false;
}

void Tape::record(const char* op, BackwardFn bwd, const char* bwd_name, Slots in, const Tensor& out, Slots saved,
                  Args args) {
  Record r;
  r.op = op;
  r.backward = bwd;
  r.backward_name = bwd_name;
  r.inputs = std::move(in.tensors);
  r.input_names = std::move(in.names);
  r.output = out;
  r.saved = std::move(saved.tensors);
  r.saved_names = std::move(saved.names);
  r.args = std::move(args.values);
  r.arg_names = std::move(args.names);
  record(std::move(r));
}

bool Tape::wants(const Tape* tape, std::initializer_list<const Tensor*> inputs) {
  if (!tape) return false;
  for (const Tensor* t : inputs)
    if (t && t->requires_grad()) return true;
  return false;
}

void Tape::record(Record r) {
  CG_CHECK(!consumed_, "recording op '", r.op, "' on a tape that was already swept; clear() it first");
  CG_CHECK(r.output.defined(), "op '", r.op, "' recorded without an output");
  r.output.set_requires_grad(true);
  if (!r.layer) r.layer = prof::current_layer();
  r.prof_entry = prof::current_entry();
  records_.push_back(std::move(r));
}

void Tape::check_sweepable(const Tensor& root) const {
  CG_CHECK(!consumed_, "backward over a tape that was already swept (its saved buffers are gone); "
           "run the forward again on a cleared tape");
  CG_CHECK(root.defined() && root.requires_grad(),
           "backward: the root does not depend on anything that needs a gradient");
}

void Tape::backward(const Tensor& root, const Tensor& seed) {
  NVTX_SCOPE("Tape::backward");
  check_sweepable(root);
  Tensor& g = const_cast<Tensor&>(root).ensure_grad();
  if (seed.defined()) {
    check_shape("backward", "seed", seed, root.shape());
    g.add_(seed);
  } else {
    CG_CHECK(root.numel() == 1, "backward from a non-scalar ", root.describe(), " needs a seed gradient");
    Tensor one = Tensor::full(root.shape(), 1.0, root.dtype(), root.device());
    g.add_(one);
  }
  sweep();
}

void Tape::backward_from_grad(const Tensor& root) {
  NVTX_SCOPE("Tape::backward");
  check_sweepable(root);
  CG_CHECK(root.grad().defined(), "backward_from_grad: the root ", root.describe(),
           " holds no gradient to sweep from; set one, or call backward(root, seed)");
  sweep();
}

void Tape::sweep() {
  for (size_t i = records_.size(); i-- > 0;) {
    Record& r = records_[i];
    if (!r.output.grad().defined()) continue;  // nothing flowed into this op's output
    NVTX_LAYER(r.layer, "backward", r.prof_entry);  // "D.conv2 backward" in Nsight and the profile
    NVTX_RANGE(r.backward_name);
    r.backward(r);
  }
  consumed_ = true;
  // Saved activations are no longer needed; free them now rather than at clear().
  for (Record& r : records_) r.saved.clear();
}

Tensor Record::grad_for_write(std::string_view name, bool* fresh) {
  Tensor& x = inputs[index(input_names, name, "input")];
  *fresh = false;
  if (!x.requires_grad()) return Tensor();
  *fresh = !x.grad().defined();
  if (*fresh) x.set_grad(Tensor::empty(x.shape(), x.dtype(), x.device()));
  return x.ensure_grad();
}

void Tape::clear() {
  records_.clear();
  consumed_ = false;
}

std::string Tape::dump() const { return TapeGraph::of(*this, "").compact(); }

}  // namespace cg
