// The pieces of a data-parallel step that need no second process: how a global batch is
// split over the ranks, and the latents each rank draws (the rows of what one process
// would draw, with the random stream advanced as in one process).
#include <doctest/doctest.h>

#include <cstdlib>

#include "engine/comm.h"
#include "gan/distributed.h"

using namespace cg;
using namespace cg::gan;

TEST_CASE("a global batch splits into equal and disjoint slices that cover it") {
  for (int ranks : {1, 2, 4, 8}) {
    int next = 0;
    for (int r = 0; r < ranks; ++r) {
      const auto [lo, hi] = batch_slice(64, r, ranks);
      CHECK(lo == next);
      CHECK(hi - lo == 64 / ranks);
      next = hi;
    }
    CHECK(next == 64);
  }
  CHECK_THROWS_WITH_AS(batch_slice(30, 0, 4), doctest::Contains("does not split evenly over 4 ranks"), Error);
  CHECK_THROWS_WITH_AS(batch_slice(4, 0, 4), doctest::Contains("at least 2 images each"), Error);  // BN needs 2
}

TEST_CASE("each rank's latents are its rows of one process's latents") {
  ModelConfig m;
  m.image_size = 16, m.base_channels = 4, m.num_genres = 3;
  const int64_t B = 12;
  // One process's training draw: the stream layout (gan/iteration.h), at seed 77 from 0.
  IterationState one(Device::cpu, 77, 0);
  StepBatch all;
  draw_latents(one, m, B, all);
  const std::vector<double> z = all.z.to_vector(), codes = all.codes.to_vector(), labels = all.fake_labels.to_vector();
  for (int ranks : {2, 3, 4}) {
    std::vector<double> zs, cs, ls;
    for (int r = 0; r < ranks; ++r) {
      Philox rng(77);
      StepBatch mine;
      const auto [lo, hi] = batch_slice(int(B), r, ranks);
      draw_latent_rows(rng, m, B, lo, hi, Device::cpu, DType::f64, mine);
      CHECK(mine.z.shape() == (Shape{hi - lo, m.z_dim}));
      CHECK(rng.offset() == one.read_offset());  // every rank's stream is where one process's is
      for (double v : mine.z.to_vector()) zs.push_back(v);
      for (double v : mine.codes.to_vector()) cs.push_back(v);
      for (double v : mine.fake_labels.to_vector()) ls.push_back(v);
    }
    CHECK(zs == z);
    CHECK(cs == codes);
    CHECK(ls == labels);
  }
}

TEST_CASE("a plain process is a world of one") {
  // ctest starts this binary without a launcher: no MPI, every collective a no-op.
  Comm& w = Comm::world();
  CHECK(w.size() == 1);
  CHECK(w.rank() == 0);
  CHECK_FALSE(w.distributed());
  CHECK_FALSE(Comm::mpi_running());
  std::vector<double> v{1.5, -2};
  w.allreduce(v, ReduceOp::sum, "test");
  CHECK(v == std::vector<double>{1.5, -2});
  CHECK(w.allgather("x", "test") == std::vector<std::string>{"x"});
  CHECK(w.transport(Device::cpu) == "none (one process)");
  bool ran = false;
  CHECK_THROWS_WITH_AS(w.agree([&] { ran = true, throw Error("own sentence"); }, "test"), "own sentence", Error);
  CHECK(ran);
}

namespace {

// Sets environment variables for the scope of a test, then removes them.
struct Env {
  std::vector<std::string> names;
  Env(std::initializer_list<std::pair<const char*, const char*>> vars) {
    for (const auto& [k, v] : vars) ::setenv(k, v, 1), names.push_back(k);
  }
  ~Env() {
    for (const auto& k : names) ::unsetenv(k.c_str());
  }
};

}  // namespace

TEST_CASE("the launcher's environment says which rank this process is") {
  CHECK(launch_info().size == 1);  // ctest is no launcher
  {
    Env e{{"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_RANK", "2"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "0"},
          {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}};
    const LaunchInfo li = launch_info();
    CHECK(li.size == 4);
    CHECK(li.rank == 2);
    CHECK(li.local_size == 2);
    CHECK(li.launcher == "mpirun");
  }
  {
    Env e{{"PMIX_RANK", "5"}, {"SLURM_STEP_NUM_TASKS", "16"}, {"SLURM_LOCALID", "1"}, {"SLURM_JOB_ID", "7"}};
    const LaunchInfo li = launch_info();
    CHECK(li.size == 16);
    CHECK(li.rank == 5);
    CHECK(li.local_rank == 1);
    CHECK(li.launcher == "srun");
  }
  CHECK(launch_info().size == 1);
}

TEST_CASE("the build fingerprint names this binary's size and checksum") {
  const std::string f = build_fingerprint();
  CHECK(f.find(" bytes, crc32 ") != std::string::npos);
  CHECK(f == build_fingerprint());
}
