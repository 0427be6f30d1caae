// The fully connected layer: the functional op (recorded on the tape) and the
// Linear module that owns its weight (OC,C) and bias (OC), PyTorch layout.
#pragma once
#include <string>

#include "engine/params.h"
#include "engine/tape.h"

namespace cg {

// out (B,OC) = x (B,C) @ w (OC,C)^T + b (OC); b may be undefined.
Tensor linear(Tape* tape, const Tensor& x, const Tensor& w, const Tensor& b);

struct Linear {
  std::string name;  // "G.fc": the profile's and Nsight's layer name
  Tensor weight, bias;
  Linear() = default;
  Linear(ParamStore& ps, const std::string& name, int64_t in, int64_t out, bool with_bias = true);
  Tensor forward(Tape* tape, const Tensor& x) const;  // linear inside the layer's scope
};

}  // namespace cg
