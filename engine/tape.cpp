// The tape's sweep and its printout; the ops' backward functions live with the ops.
#include "engine/tape.h"

#include <sstream>

#include "engine/nvtx.h"

namespace cg {

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
  records_.push_back(std::move(r));
}

void Tape::backward(const Tensor& root, const Tensor& seed) {
  NVTX_RANGE_FN();
  CG_CHECK(!consumed_, "backward over a tape that was already swept (its saved buffers are gone); "
           "run the forward again on a cleared tape");
  CG_CHECK(root.defined() && root.requires_grad(),
           "backward: the root does not depend on anything that needs a gradient");
  Tensor& g = const_cast<Tensor&>(root).ensure_grad();
  if (seed.defined()) {
    check_shape("backward", "seed", seed, root.shape());
    g.add_(seed);
  } else {
    CG_CHECK(root.numel() == 1, "backward from a non-scalar ", root.describe(), " needs a seed gradient");
    Tensor one = Tensor::full(root.shape(), 1.0, root.dtype(), root.device());
    g.add_(one);
  }
  for (size_t i = records_.size(); i-- > 0;) {
    Record& r = records_[i];
    if (!r.output.grad().defined()) continue;  // nothing flowed into this op's output
    NVTX_RANGE(r.backward_name);
    r.backward(r);
  }
  consumed_ = true;
  // Saved activations are no longer needed; free them now rather than at clear().
  for (Record& r : records_) r.saved.clear();
}

void Tape::clear() {
  records_.clear();
  consumed_ = false;
}

std::string Tape::dump() const {
  std::ostringstream os;
  for (size_t i = 0; i < records_.size(); ++i) {
    const Record& r = records_[i];
    os << "#" << i << " " << r.op << "(";
    for (size_t j = 0; j < r.inputs.size(); ++j) {
      const Tensor& t = r.inputs[j];
      os << (j ? ", " : "");
      if (!t.defined()) { os << "-"; continue; }
      if (!t.name().empty()) os << t.name() << ":";
      os << t.shape().str() << (t.requires_grad() ? "*" : "");
    }
    os << ") -> " << r.output.shape().str() << "  [" << r.backward_name << "]\n";
  }
  return os.str();
}

}  // namespace cg
