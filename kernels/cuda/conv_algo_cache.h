// The file of measured convolution algorithms (CudaMath::algo_cache, RUN/cudnn_algos.txt
// for a training run): one line per (geometry, pass, data type, math class), read when a
// run starts and rewritten (to a temporary name, then renamed) when a new one is measured.
// Its first line names the GPU and the cuDNN version; a file from another GPU or cuDNN
// is ignored (and replaced), since the timings would not hold.
#pragma once
#include <compare>
#include <cstddef>
#include <map>
#include <string>

#include "kernels/cuda/conv_algo.h"

namespace cg::cuda {

struct AlgoKey {
  ConvGeom g;
  int pass = 0, dt = 0, cls = 0;
  auto operator<=>(const AlgoKey&) const = default;
};
struct AlgoChoice {
  int algo = 0, math = 0;
  size_t workspace = 0;
};

class AlgoCacheFile {
 public:
  // Switches to path ("" = no file), loading what it holds for this GPU and cuDNN.
  void open(const std::string& path);
  bool find(const AlgoKey& k, AlgoChoice* out) const;
  // Records a measured choice and rewrites the file (a failure to write only warns).
  void put(const AlgoKey& k, const AlgoChoice& c);
  size_t size() const { return entries_.size(); }

 private:
  std::string path_, identity_;
  bool opened_ = false;
  std::map<AlgoKey, AlgoChoice> entries_;
  void save() const;
};

// "NVIDIA H200, cuDNN 91900": what a cache file's first line must say to be used here.
std::string algo_cache_identity();

}  // namespace cg::cuda
