// `covergan devices`: whether this build has the CUDA backend and a GPU answers.
#include <cstdio>

#include "apps/commands.h"
#include "engine/device.h"

namespace covergan {
namespace {

int run_devices() {
  std::printf("cpu: available\n");
  std::printf("cuda: %s\n", cg::kCudaBuilt ? (cg::cuda_available() ? "available" : "built in, but no GPU found")
                                          : "not built (no nvcc at configure time)");
  return 0;
}

Registrar reg({"devices", "Show which devices this build can use", [](CLI::App&) {}, run_devices});

}  // namespace
}  // namespace covergan
