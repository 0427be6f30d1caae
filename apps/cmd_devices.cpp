// `covergan devices`: whether this build has the CUDA backend and a GPU answers, how the
// CPU threads are set up, what a data-parallel run would use (MPI and NCCL in the build;
// under mpirun or srun the world: ranks, ranks per node, transport, one line per rank),
// and with --peaks each device's measured ceilings.
#include <cstdio>

#include "apps/commands.h"
#include "base/provenance.h"
#include "engine/ceilings.h"
#include "engine/comm.h"
#include "engine/device.h"
#include "kernels/cpu/threads.h"

namespace covergan {
namespace {

bool g_peaks = false, g_json = false;

void add_options(CLI::App& app) {
  app.add_flag("--peaks", g_peaks,
               "Measure each device's ceilings: the CPU's FMA peak and memory bandwidth (about a second), on a GPU "
               "a 1 GiB device copy and an 8192^3 cuBLAS SGEMM (FP32 and TF32)");
  app.add_flag("--json", g_json, "With --peaks: print one JSON object (the ceilings and the provenance) instead");
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) o += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return o;
}

// The build's MPI and NCCL, and the world this process runs in (rank 0 prints every rank).
void print_world(cg::Comm& w, bool gpu, const std::vector<std::string>& ranks) {
  std::printf("mpi: %s\n", cg::Comm::mpi_library().c_str());
  std::printf("nccl: %s\n", cg::kNcclBuilt ? "built in (GPU all-reduce)"
                                           : cg::kCudaBuilt ? "not built (nccl.h not found beside CUDA)"
                                                            : "not built (no CUDA)");
  const cg::LaunchInfo li = cg::launch_info();
  if (!w.distributed()) {
    std::printf("world: 1 process (no launcher: run `mpirun -np N covergan train ...` to train data-parallel)\n");
    return;
  }
  std::printf("world: %d ranks on %d node%s (launched by %s), %d on this node; transport: cpu %s%s%s\n", w.size(),
              w.nodes(), w.nodes() == 1 ? "" : "s", li.launcher.c_str(), w.local_size(),
              w.transport(cg::Device::cpu).c_str(), gpu ? ", cuda " : "",
              gpu ? w.transport(cg::Device::cuda).c_str() : "");
  for (const auto& r : ranks) std::printf("  %s\n", r.c_str());
}

// --peaks: each device's ceilings, as lines or one JSON object.
void print_peaks(bool gpu) {
  cg::Facts facts = cg::provenance();
  if (!g_json) std::fprintf(stderr, "measuring the CPU's ceilings...\n");
  const cg::DeviceCeilings c = cg::measure_ceilings(cg::Device::cpu);
  for (auto& [k, v] : cg::ceiling_facts(c)) facts.emplace_back("cpu_" + k, v);
  if (!g_json) std::printf("cpu peaks: %s\n", cg::describe(c).c_str());
  if (gpu) {
    const cg::DeviceCeilings g = cg::measure_ceilings(cg::Device::cuda);
    for (auto& [k, v] : cg::ceiling_facts(g)) facts.emplace_back("cuda_" + k, v);
    if (!g_json) std::printf("cuda peaks: %s\n", cg::describe(g).c_str());
  }
  if (g_json) {
    std::printf("{");
    for (size_t i = 0; i < facts.size(); ++i)
      std::printf("%s\n  \"%s\": \"%s\"", i ? "," : "", facts[i].first.c_str(), json_escape(facts[i].second).c_str());
    std::printf("\n}\n");
  } else {
    std::printf("measured on %s, load average %s%s\n", cg::utc_now().c_str(), cg::load_average().c_str(),
                cg::load_average_1min() > 0.5 * cg::cpus_usable() ? " (busy: the CPU numbers are low)" : "");
  }
}

int run_devices() {
  cg::Comm& w = cg::Comm::world();  // starts MPI only under a launcher
  const bool gpu = cg::cuda_available();
  const int index = w.distributed() && gpu ? w.use_gpu() : -1;
  const int threads = cg::cpu::compute_threads();
  const std::string mine = cg::detail::cat(w.describe(w.rank()), ": local rank ", w.local_rank(), " of ",
                                           w.local_size(), ", ", threads, " OpenMP thread", threads == 1 ? "" : "s",
                                           index >= 0 ? cg::detail::cat(", GPU ", index) : std::string());
  const std::vector<std::string> ranks = w.allgather(mine, "allgather devices");
  if (!w.root()) return 0;  // --peaks too: rank 0 measures, the others would share its cores
  if (!(g_peaks && g_json)) {
    std::printf("cpu: available, %s (%d CPUs online)\n", cg::cpu_model().c_str(), cg::cpus_online());
    std::printf("  threads: %s\n", cg::cpu::thread_summary().c_str());
    std::printf("cuda: %s\n", cg::kCudaBuilt ? (gpu ? "available" : "built in, but no GPU found")
                                             : "not built (no nvcc at configure time)");
    print_world(w, gpu, ranks);
  }
  if (g_peaks) print_peaks(gpu);
  return 0;
}

Registrar reg({"devices",
               "Show the devices this build can use (under mpirun, every rank's); --peaks measures their ceilings",
               add_options, run_devices});

}  // namespace
}  // namespace covergan
