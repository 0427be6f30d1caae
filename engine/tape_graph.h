// The tape as a graph a reader can follow: every tensor a record reads or writes gets an
// id (t0, t1, ... in order of first appearance) and every record lists its input and
// output ids, so "record #12's x" can be traced to the op that made it, or to a leaf (a
// parameter, the real images, G's detached output). After the backward, each tensor's
// value and gradient can be summarised (mean, std, min, max). Rendered as text for
// `covergan train --dump-tape` and as Graphviz for --dump-tape-dot.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "engine/tape.h"

namespace cg {

struct TensorStats {
  int64_t n = 0, non_finite = 0;  // elements; how many are NaN or Inf (left out of the rest)
  double mean = 0, std = 0, min = 0, max = 0;
};
TensorStats tensor_stats(const Tensor& t);  // any dtype and device

// A label for a tensor that is no parameter: {tensor, "real images"}.
using TensorLabel = std::pair<Tensor, std::string>;

struct TapeGraph {
  struct Node {  // one tensor
    int id = 0;
    Tensor tensor;      // the handle, so values can be read after the backward
    std::string label;  // a parameter's name, a caller's label, or ""
    bool param = false;  // label is a parameter name (Tensor::name)
    bool requires_grad = false;  // when the graph was taken (D's parameters are off in the G step)
    int producer = -1;   // index of the record that wrote it; -1: a leaf of this tape
    std::vector<int> consumers;  // records that read it
    bool has_values = false;
    TensorStats value, grad;
    bool has_grad = false;
  };
  struct Input {
    std::string slot;  // "x", "w", or "[2]" for the variadic ops
    int tensor = -1;   // node id, -1 for an undefined input (no bias)
  };
  struct Op {  // one record
    std::string op, backward;
    std::vector<Input> inputs;
    int output = -1;
    std::vector<std::string> saved;  // "mean: f32 (4) on cpu"
    std::vector<std::pair<std::string, double>> args;
  };

  std::string title;  // "D step"
  std::vector<Node> tensors;  // index == id
  std::vector<Op> ops;        // index == record index

  // The graph of tape's records as they stand (call before backward, while the saved
  // tensors exist); labels name tensors the caller knows (the loss terms, the batch).
  static TapeGraph of(const Tape& tape, const std::string& title, const std::vector<TensorLabel>& labels = {});
  // After the backward: every tensor's value statistics, and its gradient's where it
  // needed one when the graph was taken.
  void capture_values();

  // One block per record: op and backward function, each input and the output with its
  // id, dtype, shape, device, gradient mark and where it came from or goes, saved
  // tensors, args; with values (after capture_values) the statistics under each tensor
  // where it first appears.
  std::string text(bool values) const;
  // One line per record: "#3 conv2d(x=t5 (2,2,8,8)*, w=t6 D.conv2.weight (4,2,4,4)*, b=-) -> t7 (2,4,4,4)".
  std::string compact() const;
};

// Graphviz: each graph a cluster (D step, G step), records as boxes, tensors as ellipses
// (parameters shaded), an edge from each input tensor to its record (labelled with the
// slot) and from each record to its output. Node names carry the cluster's index, so a
// parameter used by both steps appears once per cluster.
std::string to_dot(const std::vector<const TapeGraph*>& graphs);

}  // namespace cg
