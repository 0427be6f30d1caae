// safetensors files: 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}, then raw
// little-endian tensor bytes. Written to NAME.tmp, flushed, then renamed, so a
// crash never leaves a torn file. Reading validates every offset and size.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace cg {

struct SafeTensors {
  std::map<std::string, Tensor> tensors;            // CPU tensors, f32/f64/i32/u8
  std::map<std::string, std::string> metadata;      // free-form strings (config JSON, step, ...)
};

// Tensors may be on any device; they are copied to the host to be written.
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});
// Throws cg::Error with one sentence naming the file on truncation, corruption or a bad header.
SafeTensors load_safetensors(const std::string& path);

}  // namespace cg
