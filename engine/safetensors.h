// safetensors files: 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}, then raw
// little-endian tensor bytes. Written to NAME.tmp, flushed, then renamed, so a
// crash never leaves a torn file. Reading validates every offset and size.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace cg {

struct SafeTensors {
  std::map<std::string, Tensor> tensors;            // CPU tensors, f32/f64/i32/u8
  std::map<std::string, std::string> metadata;      // free-form strings (config JSON, step, ...)
  // Tensors in a valid safetensors dtype that covergan does not hold (F16, BF16, I64, ...,
  // e.g. PyTorch's num_batches_tracked): name -> "I64 ()". Their bytes are checked for
  // layout but not read.
  std::map<std::string, std::string> unsupported;
};

// Tensors may be on any device; they are copied to the host to be written.
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});
// Throws cg::Error with one sentence naming the file on truncation, corruption or a bad header.
// Refuses anything but a regular file before opening it (a FIFO would block).
SafeTensors load_safetensors(const std::string& path);
// The same over bytes in memory (fuzzing, tests); name appears in messages.
SafeTensors parse_safetensors(const uint8_t* data, size_t n, const std::string& name);

// Elements of an f32/f64 tensor that are NaN or infinite (0 for other dtypes);
// first_bad gets the index of the first one.
int64_t count_nonfinite(const Tensor& t, int64_t* first_bad = nullptr);

}  // namespace cg
