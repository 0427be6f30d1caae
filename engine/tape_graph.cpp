// The tape as a graph (see tape_graph.h): ids by first appearance, producers and
// consumers, statistics after the backward, and the text and Graphviz renderings.
#include "engine/tape_graph.h"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace cg {
namespace {

// The node of t, added on first sight.
int node_of(TapeGraph& g, const Tensor& t, const std::vector<TensorLabel>& labels) {
  for (const auto& n : g.tensors)
    if (n.tensor.same(t)) return n.id;
  TapeGraph::Node n;
  n.id = int(g.tensors.size());
  n.tensor = t;
  n.requires_grad = t.requires_grad();
  if (!t.name().empty()) {
    n.label = t.name();
    n.param = true;
  }
  for (const auto& [lt, text] : labels)
    if (lt.defined() && lt.same(t) && n.label.empty()) n.label = text;
  g.tensors.push_back(n);
  return n.id;
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

std::string stats_line(const char* what, const TensorStats& s) {
  std::string line = std::string(what) + "  mean " + fmt("%10.3e", s.mean) + "  std " + fmt("%9.3e", s.std) +
                     "  min " + fmt("%10.3e", s.min) + "  max " + fmt("%10.3e", s.max);
  if (s.non_finite) line += "  (" + std::to_string(s.non_finite) + " NaN/Inf)";
  return line;
}

std::string tensor_desc(const Tensor& t, bool requires_grad) {
  return std::string(dtype_name(t.dtype())) + " " + t.shape().str() + " on " + device_name(t.device()) +
         (requires_grad ? " *" : "");
}

// "from #2 leaky_relu", "D.conv2.weight (parameter)", "'real images' (leaf)".
std::string origin(const TapeGraph& g, const TapeGraph::Node& n) {
  if (n.producer >= 0)
    return (n.label.empty() ? "" : "'" + n.label + "' ") + "from #" + std::to_string(n.producer) + " " +
           g.ops[size_t(n.producer)].op;
  if (n.param) return n.label + " (parameter)";
  return n.label.empty() ? "leaf" : "'" + n.label + "' (leaf)";
}

std::string destination(const TapeGraph& g, const TapeGraph::Node& n) {
  std::string s;
  for (int c : n.consumers) s += (s.empty() ? "to #" : ", #") + std::to_string(c) + " " + g.ops[size_t(c)].op;
  if (s.empty())
    s = n.producer == int(g.ops.size()) - 1 ? "the root: backward starts here"
                                            : "read by no record (no gradient flows back through it)";
  return n.label.empty() ? s : "'" + n.label + "' " + s;
}

std::string dot_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o;
}

}  // namespace

TensorStats tensor_stats(const Tensor& t) {
  TensorStats s;
  if (!t.defined()) return s;
  const std::vector<double> v = t.to_vector();
  double sum = 0, sq = 0;
  bool first = true;
  for (double x : v) {
    if (!std::isfinite(x)) {
      ++s.non_finite;
      continue;
    }
    ++s.n;
    sum += x;
    s.min = first ? x : std::min(s.min, x);
    s.max = first ? x : std::max(s.max, x);
    first = false;
  }
  if (s.n == 0) return s;
  s.mean = sum / double(s.n);
  for (double x : v)
    if (std::isfinite(x)) sq += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(sq / double(s.n));
  s.n += s.non_finite;
  return s;
}

TapeGraph TapeGraph::of(const Tape& tape, const std::string& title, const std::vector<TensorLabel>& labels) {
  TapeGraph g;
  g.title = title;
  const auto& recs = tape.records();
  for (size_t i = 0; i < recs.size(); ++i) {
    const Record& r = recs[i];
    Op op;
    op.op = r.op;
    op.backward = r.backward_name;
    for (size_t k = 0; k < r.inputs.size(); ++k) {
      const char* nm = k < r.input_names.size() ? r.input_names[k] : "";
      Input in{*nm ? std::string(nm) : "[" + std::to_string(k) + "]", -1};
      if (r.inputs[k].defined()) {
        in.tensor = node_of(g, r.inputs[k], labels);
        auto& cons = g.tensors[size_t(in.tensor)].consumers;
        if (cons.empty() || cons.back() != int(i)) cons.push_back(int(i));
      }
      op.inputs.push_back(in);
    }
    op.output = node_of(g, r.output, labels);
    g.tensors[size_t(op.output)].producer = int(i);
    for (size_t k = 0; k < r.saved.size(); ++k) {
      const char* nm = k < r.saved_names.size() ? r.saved_names[k] : "";
      op.saved.push_back((*nm ? std::string(nm) : "[" + std::to_string(k) + "]") + ": " +
                         (r.saved[k].defined() ? tensor_desc(r.saved[k], false) : "-"));
    }
    for (size_t k = 0; k < r.args.size(); ++k) {
      const char* nm = k < r.arg_names.size() ? r.arg_names[k] : "";
      op.args.push_back({*nm ? std::string(nm) : "[" + std::to_string(k) + "]", r.args[k]});
    }
    g.ops.push_back(std::move(op));
  }
  return g;
}

void TapeGraph::capture_values() {
  for (Node& n : tensors) {
    n.value = tensor_stats(n.tensor);
    n.has_values = true;
    n.has_grad = n.requires_grad && n.tensor.grad().defined();
    if (n.has_grad) n.grad = tensor_stats(n.tensor.grad());
  }
}

std::string TapeGraph::text(bool values) const {
  std::ostringstream os;
  std::vector<bool> shown(tensors.size(), false);
  auto tensor_lines = [&](const char* kind, const std::string& slot, int id, bool out) {
    char head[64];
    std::snprintf(head, sizeof head, "  %-4s %-7s ", kind, slot.c_str());
    os << head;
    if (id < 0) {
      os << "-\n";
      return;
    }
    const Node& n = tensors[size_t(id)];
    char ids[16];
    std::snprintf(ids, sizeof ids, "t%-4d", n.id);
    char desc[64];
    std::snprintf(desc, sizeof desc, "%-30s", tensor_desc(n.tensor, n.requires_grad).c_str());
    os << ids << desc << " " << (out ? destination(*this, n) : origin(*this, n)) << "\n";
    if (!values || !n.has_values || shown[size_t(id)]) return;
    shown[size_t(id)] = true;
    os << "                     " << stats_line("value", n.value) << "\n";
    os << "                     "
       << (n.has_grad ? stats_line("grad ", n.grad) : std::string(n.requires_grad ? "grad   none" : "grad   (needs none)"))
       << "\n";
  };
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    os << "#" << i << " " << op.op << "  [" << op.backward << "]\n";
    for (const Input& in : op.inputs) tensor_lines("in", in.slot, in.tensor, false);
    tensor_lines("out", "", op.output, true);
    for (size_t k = 0; k < op.saved.size(); ++k) os << (k ? "               " : "  saved        ") << op.saved[k] << "\n";
    if (!op.args.empty()) {
      os << "  args        ";
      for (const auto& [name, v] : op.args) os << " " << name << "=" << v;
      os << "\n";
    }
  }
  return os.str();
}

std::string TapeGraph::compact() const {
  std::ostringstream os;
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    os << "#" << i << " " << op.op << "(";
    for (size_t k = 0; k < op.inputs.size(); ++k) {
      const Input& in = op.inputs[k];
      os << (k ? ", " : "") << in.slot << "=";
      if (in.tensor < 0) {
        os << "-";
        continue;
      }
      const Node& n = tensors[size_t(in.tensor)];
      os << "t" << n.id << " " << (n.param ? n.label + " " : "") << n.tensor.shape().str()
         << (n.requires_grad ? "*" : "");
    }
    const Node& o = tensors[size_t(op.output)];
    os << ") -> t" << o.id << " " << o.tensor.shape().str() << "  [" << op.backward << "]\n";
  }
  return os.str();
}

std::string to_dot(const std::vector<const TapeGraph*>& graphs) {
  std::ostringstream os;
  os << "// The autograd tapes of one training iteration (covergan train --dump-tape-dot).\n"
        "// Boxes: records (op, backward function); ellipses: tensors (id, shape; parameters shaded).\n"
        "digraph tapes {\n"
        "  rankdir=TB; newrank=true;\n"
        "  node [fontname=\"DejaVu Sans\", fontsize=10];\n"
        "  edge [fontname=\"DejaVu Sans\", fontsize=8, color=\"#555555\"];\n";
  for (size_t gi = 0; gi < graphs.size(); ++gi) {
    const TapeGraph& g = *graphs[gi];
    const std::string p = std::string("g").append(std::to_string(gi)).append("_");
    os << "  subgraph cluster_" << gi << " {\n"
       << "    label=\"" << dot_escape(g.title) << " (" << g.ops.size() << " records, " << g.tensors.size()
       << " tensors)\"; fontname=\"DejaVu Sans\"; fontsize=14; style=rounded; color=\"#888888\";\n";
    for (size_t i = 0; i < g.ops.size(); ++i)
      os << "    " << p << "r" << i << " [shape=box, style=\"rounded,filled\", fillcolor=\"#dbe8f7\", label=\"#" << i
         << " " << dot_escape(g.ops[i].op) << "\\n" << dot_escape(g.ops[i].backward) << "\"];\n";
    for (const TapeGraph::Node& n : g.tensors) {
      std::string label = std::string("t").append(std::to_string(n.id)).append(" ").append(n.tensor.shape().str());
      if (!n.label.empty()) label += "\\n" + dot_escape(n.label);
      if (n.has_grad) label += "\\n|grad| max " + fmt("%.2g", std::max(std::fabs(n.grad.min), std::fabs(n.grad.max)));
      os << "    " << p << "t" << n.id << " [shape=ellipse" << (n.param ? ", style=filled, fillcolor=\"#fbe3c0\"" : "")
         << ", label=\"" << label << "\"];\n";
    }
    for (size_t i = 0; i < g.ops.size(); ++i) {
      for (const TapeGraph::Input& in : g.ops[i].inputs)
        if (in.tensor >= 0)
          os << "    " << p << "t" << in.tensor << " -> " << p << "r" << i << " [label=\"" << dot_escape(in.slot)
             << "\"];\n";
      os << "    " << p << "r" << i << " -> " << p << "t" << g.ops[i].output << ";\n";
    }
    os << "  }\n";
  }
  os << "}\n";
  return os.str();
}

}  // namespace cg
