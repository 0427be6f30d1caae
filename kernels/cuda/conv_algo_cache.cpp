// The measured-algorithm file (see conv_algo_cache.h). Plain text, one choice a line:
//   N C H W OC K stride pad pass dtype math-class algo math-type workspace-bytes
#include "kernels/cuda/conv_algo_cache.h"

#include <cuda_runtime.h>
#include <cudnn.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace cg::cuda {

std::string algo_cache_identity() {
  int dev = 0;
  cudaDeviceProp prop{};
  std::string name = "unknown GPU";
  if (cudaGetDevice(&dev) == cudaSuccess && cudaGetDeviceProperties(&prop, dev) == cudaSuccess) name = prop.name;
  cudaGetLastError();
  return name + ", cuDNN " + std::to_string(cudnnGetVersion());
}

void AlgoCacheFile::open(const std::string& path) {
  if (opened_ && path == path_) return;
  path_ = path;
  opened_ = true;
  entries_.clear();
  if (path_.empty()) return;
  identity_ = algo_cache_identity();
  std::ifstream in(path_);
  std::string line;
  if (!in || !std::getline(in, line) || line != "# covergan cuDNN algorithms: " + identity_) return;
  while (std::getline(in, line)) {
    std::istringstream is(line);
    AlgoKey k;
    AlgoChoice c;
    if (is >> k.g.N >> k.g.C >> k.g.H >> k.g.W >> k.g.OC >> k.g.K >> k.g.stride >> k.g.pad >> k.pass >> k.dt >>
        k.cls >> c.algo >> c.math >> c.workspace)
      entries_[k] = c;
  }
}

bool AlgoCacheFile::find(const AlgoKey& k, AlgoChoice* out) const {
  const auto it = entries_.find(k);
  if (it == entries_.end()) return false;
  *out = it->second;
  return true;
}

void AlgoCacheFile::put(const AlgoKey& k, const AlgoChoice& c) {
  entries_[k] = c;
  if (!path_.empty()) save();
}

void AlgoCacheFile::save() const {
  const std::string tmp = path_ + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "# covergan cuDNN algorithms: " << identity_ << "\n";
    for (const auto& [k, c] : entries_)
      out << k.g.N << ' ' << k.g.C << ' ' << k.g.H << ' ' << k.g.W << ' ' << k.g.OC << ' ' << k.g.K << ' '
          << k.g.stride << ' ' << k.g.pad << ' ' << k.pass << ' ' << k.dt << ' ' << k.cls << ' ' << c.algo << ' '
          << c.math << ' ' << c.workspace << '\n';
    out.flush();
    if (!out) {
      std::fprintf(stderr, "covergan: warning: cannot write the algorithm cache %s; measuring again next run\n",
                   path_.c_str());
      std::remove(tmp.c_str());
      return;
    }
  }
  if (std::rename(tmp.c_str(), path_.c_str()) != 0) {
    std::fprintf(stderr, "covergan: warning: cannot replace the algorithm cache %s\n", path_.c_str());
    std::remove(tmp.c_str());
  }
}

}  // namespace cg::cuda
