// Helpers for the data-parallel tests: a small labeled dataset, `covergan train` runs in
// one process or under mpirun (--oversubscribe, one thread per rank, --allow-run-as-root
// as root), and checkpoints compared tensor by tensor.
#pragma once
#include <string>
#include <vector>

#include "support/paths.h"
#include "support/skip.h"
#include "support/temp_dir.h"

namespace disttest {

// A labeled .cgd of n random images (size x size, `genres` genres) from seed.
void write_dataset(const std::string& path, int n, int size, int genres, uint32_t seed);

// The mpirun to use: $COVERGAN_MPIEXEC, the one CMake found, or `mpirun` on PATH; "" if none.
std::string mpirun();
// Why the multi-rank tests cannot run here ("" when they can).
std::string why_no_mpi();
#define SKIP_WITHOUT_MPI()                                           \
  do {                                                               \
    const std::string why_ = ::disttest::why_no_mpi();               \
    if (!why_.empty()) CG_SKIP(why_);                                \
  } while (0)

// "mpirun --oversubscribe [--allow-run-as-root] -x OMP_NUM_THREADS=1 " (then -np and the rest).
std::string mpirun_prefix();
// The covergan binary, quoted.
std::string covergan();

// Runs a shell command line (stdout and stderr together), killed after timeout_s.
cgtest::ShellResult sh(const std::string& cmd, int timeout_s = 180);
// `covergan train ARGS` in one process / as `ranks` ranks under mpirun.
cgtest::ShellResult train1(const std::string& args);
cgtest::ShellResult trainN(int ranks, const std::string& args);

struct Diff {
  int tensors = 0, differing = 0;
  double worst = 0;  // max over tensors of max|a-b| / max(max|b|, 1e-12)
  std::string where;
  int64_t elements = 0, far = 0;  // elements compared; those with |a-b| > 1e-4 max|b| of their tensor
};
// Every tensor of two checkpoints (weights, buffers, Adam moments) compared.
Diff compare_checkpoints(const std::string& a, const std::string& b);
// A checkpoint's metadata value ("step", "rng_offset", ...).
std::string meta(const std::string& checkpoint, const std::string& key);
// The step column of a run's metrics.csv, in file order.
std::vector<long> metric_steps(const std::string& run);

}  // namespace disttest
