// What every module's forward does besides its op: opens its layer scope (an NVTX range
// "G.deconv1 forward" and a row of `covergan train --profile`; records made inside carry
// the layer's name to the backward sweep) and, while profiling, notes its shapes.
#pragma once
#include <string>

#include "base/nvtx.h"
#include "engine/tensor.h"

namespace cg {

// A module made without a name (a default-constructed placeholder) opens no scope.
inline const char* layer_name(const std::string& name) { return name.empty() ? nullptr : name.c_str(); }

// "(32,64,16,16) -> (32,128,8,8)" for the profile's shape column.
inline void note_io(const Tensor& x, const Tensor& y) {
  if (prof::recording()) prof::note_shape(x.shape().str() + " -> " + y.shape().str());
}

}  // namespace cg
