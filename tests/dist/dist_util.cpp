// Helpers for the data-parallel tests (see dist_util.h).
#include "dist_util.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>

#include "data/dataset.h"
#include "engine/comm.h"
#include "engine/safetensors.h"

namespace disttest {

void write_dataset(const std::string& path, int n, int size, int genres, uint32_t seed) {
  cg::data::DatasetInfo info;
  info.count = n, info.size = size;
  for (int g = 0; g < genres; ++g) {
    std::string name = "g";
    info.genres.push_back(name += std::to_string(g));
  }
  std::mt19937 rng(seed);
  std::vector<uint8_t> px(size_t(n) * size * size * 3);
  std::vector<int32_t> labels(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    labels[size_t(i)] = i % genres;
    const int base = 40 + 60 * (i % genres);  // genres differ in brightness
    for (int k = 0; k < size * size * 3; ++k)
      px[size_t(i) * size * size * 3 + size_t(k)] = uint8_t(std::clamp(base + int(rng() % 80) - 40, 0, 255));
  }
  cg::data::write_dataset(path, info, px.data(), labels);
}

std::string mpirun() {
  if (const char* e = std::getenv("COVERGAN_MPIEXEC"); e && *e) return e;
  const std::string built = COVERGAN_MPIEXEC;
  if (!built.empty() && ::access(built.c_str(), X_OK) == 0) return built;
  const cgtest::ShellResult r = cgtest::run_shell("command -v mpirun 2>/dev/null");
  std::string p = r.output;
  while (!p.empty() && (p.back() == '\n' || p.back() == ' ')) p.pop_back();
  return r.exit_code == 0 ? p : "";
}

std::string why_no_mpi() {
  if (!cg::kMpiBuilt) return "this build has no MPI (Open MPI was not found at configure time)";
  if (mpirun().empty()) return "mpirun is not installed (apt-get install openmpi-bin)";
  return "";
}

std::string mpirun_prefix() {
  return cgtest::shell_quote(mpirun()) + " --oversubscribe" + (::geteuid() == 0 ? " --allow-run-as-root" : "") +
         " -x OMP_NUM_THREADS=1 ";
}

std::string covergan() { return cgtest::shell_quote(cgtest::binary_dir() + "/covergan"); }

cgtest::ShellResult sh(const std::string& cmd, int timeout_s) {
  return cgtest::run_shell("timeout -k 5 " + std::to_string(timeout_s) + " " + cmd + " 2>&1");
}

cgtest::ShellResult train1(const std::string& args) { return sh("env OMP_NUM_THREADS=1 " + covergan() + " train " + args); }

cgtest::ShellResult trainN(int ranks, const std::string& args) {
  return sh(mpirun_prefix() + "-np " + std::to_string(ranks) + " " + covergan() + " train " + args);
}

Diff compare_checkpoints(const std::string& a, const std::string& b) {
  const cg::SafeTensors A = cg::load_safetensors(a), B = cg::load_safetensors(b);
  Diff d;
  for (const auto& [name, ta] : A.tensors) {
    auto it = B.tensors.find(name);
    if (it == B.tensors.end() || it->second.shape() != ta.shape()) {
      d.worst = INFINITY, d.where = name + " missing or reshaped";
      continue;
    }
    const std::vector<double> x = ta.to_vector(), y = it->second.to_vector();
    double scale = 1e-12, diff = 0;
    for (size_t i = 0; i < x.size(); ++i) scale = std::max(scale, std::abs(y[i])), diff = std::max(diff, std::abs(x[i] - y[i]));
    for (size_t i = 0; i < x.size(); ++i) d.far += std::abs(x[i] - y[i]) > 1e-4 * scale;
    d.elements += int64_t(x.size());
    ++d.tensors;
    d.differing += diff > 0;
    if (diff / scale > d.worst) d.worst = diff / scale, d.where = name;
  }
  return d;
}

std::string meta(const std::string& checkpoint, const std::string& key) {
  const cg::SafeTensors f = cg::load_safetensors(checkpoint);
  auto it = f.metadata.find(key);
  return it == f.metadata.end() ? "" : it->second;
}

std::vector<long> metric_steps(const std::string& run) {
  std::ifstream in(run + "/metrics.csv");
  std::string line;
  std::vector<long> steps;
  std::getline(in, line);
  while (std::getline(in, line)) steps.push_back(std::atol(line.c_str()));
  return steps;
}

}  // namespace disttest
