// The data loader on CUDA against the CPU loader: the same seed gives the same
// images (bit for bit: both normalise with kernels/common/normalize.h), labels and
// flips, across an epoch boundary, after set_position, and with the pinned slots
// recycled many times; sample grids accept CUDA tensors.
#include <doctest/doctest.h>

#include <filesystem>
#include <random>

#include "data/dataset.h"
#include "data/grid.h"
#include "data/loader.h"
#include "support/skip.h"
#include "support/temp_dir.h"

using namespace cg;
using namespace cg::data;

namespace {

std::string make_set(const std::filesystem::path& dir) {
  DatasetInfo info;
  info.count = 300, info.size = 16, info.genres = {"a", "b", "c", "d", "e"};
  std::vector<uint8_t> px(size_t(info.count) * 16 * 16 * 3);
  std::mt19937 rng(7);
  for (auto& v : px) v = uint8_t(rng());
  std::vector<int32_t> labels;
  for (int i = 0; i < info.count; ++i) labels.push_back(i % 5);
  const std::string path = (dir / "cuda_loader.cgd").string();
  write_dataset(path, info, px.data(), labels);
  return path;
}

}  // namespace

TEST_CASE("cuda loader: same batches as the CPU loader, through pinned uploads") {
  CG_SKIP_WITHOUT_CUDA();
  const cgtest::TempDir tmp("cuda_loader");  // removed with everything in it when the test ends
  const std::filesystem::path& dir = tmp.path();
  const std::string path = make_set(dir);
  const Dataset ds = Dataset::open(path);
  Loader cpu(ds, {32, 123, Device::cpu, true}), gpu(ds, {32, 123, Device::cuda, true});
  REQUIRE(gpu.batches_per_epoch() == 9);
  Tensor ci, cl, gi, gl;
  for (int k = 0; k < 30; ++k) {  // over three epochs: every slot reused several times
    cpu.next(ci, cl);
    gpu.next(gi, gl);
    REQUIRE(gi.is_cuda());
    REQUIRE(gl.is_cuda());
    INFO("batch " << k);
    CHECK(gi.to(Device::cpu).to_vector() == ci.to_vector());
    CHECK(gl.to(Device::cpu).to_vector() == cl.to_vector());
  }
  gpu.set_position(1, 2);
  cpu.set_position(1, 2);
  cpu.next(ci, cl);
  gpu.next(gi, gl);
  CHECK(gi.to(Device::cpu).to_vector() == ci.to_vector());
  write_grid_png((dir / "cuda_grid.png").string(), gi, 8);
  CHECK(std::filesystem::exists(dir / "cuda_grid.png"));
}
