// `covergan train --dump-tape`, --dump-tape-values and --dump-tape-dot: one iteration of
// the model on random images, its D-step and G-step tapes as graphs (engine/tape_graph.h)
// printed as text, with value and gradient statistics, and written as Graphviz.
#pragma once
#include <string>

#include "gan/acgan.h"
#include "gan/config.h"
#include "engine/device.h"

namespace cg::gan {

struct TapeDumpOptions {
  bool text = true;      // print every record with tensor ids
  bool values = false;   // and each tensor's value and gradient statistics
  std::string dot_path;  // write Graphviz here ("" = none), and SVG and PNG beside it when dot is installed
  LossConfig loss;       // the run's loss settings (--g-spectral compares with the random real batch)
};

void dump_training_tapes(const ModelConfig& m, int64_t batch, Device device, const TapeDumpOptions& opt);

// Renders a .dot file with Graphviz's dot into each format beside it (F.dot -> F.svg,
// F.png), each written to a temporary name and renamed. Returns the files written; empty
// when no dot program is on the PATH. A dot that fails is one sentence with its exit status.
std::vector<std::string> render_dot(const std::string& dot_path, const std::vector<std::string>& formats);

// The dot program on the PATH, or "" when Graphviz is not installed.
std::string find_dot_program();

}  // namespace cg::gan
