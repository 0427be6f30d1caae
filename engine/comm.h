// Data-parallel communication (docs/DISTRIBUTED.md): the world of ranks an MPI launcher
// (mpirun, srun) started, sums across it (MPI on the host, NCCL on the GPU on the
// training stream), and a watchdog that turns a hung or silent rank into one sentence
// naming it. Without a launcher, or in a build without MPI, the world is this process.
#pragma once
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "base/check.h"
#include "engine/tensor.h"

namespace cg {

// COVERGAN_MPI and COVERGAN_NCCL are always 0 or 1 (CMake sets them), as COVERGAN_CUDA.
inline constexpr bool kMpiBuilt = COVERGAN_MPI != 0;
inline constexpr bool kNcclBuilt = COVERGAN_NCCL != 0;

// An error every rank raises at the same point with the same sentence (a start-up check
// failed on some rank, a global loss is not finite): rank 0 alone prints it and the ranks
// exit together. In a single process it is a plain cg::Error.
class AgreedError : public Error {
 public:
  using Error::Error;
};

// What the launcher's environment says about this process, read without starting MPI:
// Open MPI's mpirun (OMPI_COMM_WORLD_*), PMI / PMIx (srun --mpi=pmi2|pmix, MPICH), Slurm.
struct LaunchInfo {
  int rank = 0, size = 1, local_rank = 0, local_size = 1;
  std::string launcher;  // "mpirun", "srun", "PMI"; "" without one
};
LaunchInfo launch_info();

enum class ReduceOp { sum, mean };

class Comm {
 public:
  // The process's world. The first call starts MPI when a launcher started more than one
  // rank (never otherwise: a plain `covergan train` does not touch MPI) and gives each
  // rank its share of the node's cores unless OMP_NUM_THREADS says otherwise.
  static Comm& world();
  // True once world() has started MPI (so main() must end it: finalize or abort).
  static bool mpi_running();
  // "Open MPI v4.1.4, ..." (the library's own first line), or why there is none.
  static std::string mpi_library();

  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }  // ranks on this node
  int nodes() const { return nodes_; }
  const std::string& host() const { return host_; }
  bool root() const { return rank_ == 0; }
  bool distributed() const { return size_ > 1; }
  // "rank 1 of 4 (host node2, pid 311)": how messages name a rank.
  std::string describe(int rank) const;
  // How gradients travel for tensors on d: "none (one process)", "MPI, shared memory",
  // "MPI, 2 nodes", "NCCL on GPU 1 (id over MPI)", "MPI via host copies".
  std::string transport(Device d) const;

  // Seconds a collective may wait for the slowest rank before the job is stopped with a
  // sentence naming it (default 600: a checkpoint write of rank 0 must fit inside).
  void set_timeout(double seconds);
  double timeout() const { return timeout_s_; }

  // A GPU rank: selects GPU local_rank % (GPUs on the node) for this process and, in a
  // distributed run of a build with NCCL, creates the NCCL communicator (its unique id
  // broadcast over MPI). Call before the first CUDA allocation. Returns the GPU index.
  int use_gpu();

  // In place over all ranks: the sum (or the mean) of n values at p, f32 or f64, in host
  // memory (MPI) or on the GPU (NCCL on the training stream; MPI through host copies
  // when the build has no NCCL). `what` names it in the watchdog's sentence.
  void allreduce(void* p, int64_t n, DType dt, Device dev, ReduceOp op, const char* what);
  void allreduce(Tensor& t, ReduceOp op, const char* what);
  void allreduce(std::vector<double>& v, ReduceOp op, const char* what);
  // Rank 0's bytes to every rank.
  void broadcast(std::string& bytes, const char* what);
  // Every rank's string, in rank order.
  std::vector<std::string> allgather(const std::string& mine, const char* what);

  // Runs fn on every rank (only_root: on rank 0 alone), then settles: when fn threw on any
  // rank, every rank throws AgreedError with the sentence of the lowest rank that failed
  // (naming that rank when it is not rank 0). In one process fn's exception passes as is.
  template <class F>
  void agree(F&& fn, const char* what, bool only_root = false) {
    if (!distributed()) {
      fn();
      return;
    }
    std::string err;
    bool failed = false;
    try {
      if (!only_root || root()) fn();
    } catch (const std::exception& e) {
      err = e.what(), failed = true;
    }
    settle(failed, err, what);
  }

  // Ends MPI after a clean finish (main calls it; a no-op without MPI).
  void finalize();

  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;

 private:
  Comm() = default;
  void start_mpi(const LaunchInfo& li);
  void settle(bool failed, const std::string& err, const char* what);
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1, nodes_ = 1, gpu_ = -1;
  std::string host_;
  std::vector<std::string> hosts_;
  std::vector<long> pids_;
  double timeout_s_ = 600;
  bool finalized_ = false;
};

// How main() ends after an error: one sentence on stderr (rank 0 alone for an AgreedError,
// else naming the rank), then the ranks stop together (MPI_Abort for an error on one
// rank, which brings the others down). Returns the exit code for a single process.
int exit_after_error(const std::string& msg, bool agreed);

// This binary's identity for the start-up check of a distributed run: the size and CRC32
// of /proc/self/exe, so ranks running different builds are refused.
std::string build_fingerprint();

}  // namespace cg
