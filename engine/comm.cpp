// The communicator of a data-parallel run (see comm.h). MPI is started only when a
// launcher started several ranks; collectives are blocking MPI calls on the main thread
// (or NCCL on the GPU stream) bracketed for the watchdog (engine/comm_watchdog.cpp).
#include "engine/comm.h"

#include <sched.h>
#include <unistd.h>
#include <zlib.h>

#include <omp.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "base/nvtx.h"
#include "base/profile.h"
#include "engine/comm_nccl.h"
#include "engine/comm_watchdog.h"
#include "engine/device.h"

#if COVERGAN_MPI
#include <mpi.h>
#endif

namespace cg {

namespace {

bool g_mpi_running = false;
void* g_nccl = nullptr;  // ncclComm_t of a distributed GPU run

const char* env(const char* k) {
  const char* v = std::getenv(k);
  return v && *v ? v : nullptr;
}
int env_int(const char* k, int fallback) {
  const char* v = env(k);
  return v ? std::atoi(v) : fallback;
}

std::string hostname() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "?";
  return buf;
}

// Without OMP_NUM_THREADS, each rank takes its share of the node: the cores the launcher
// bound it to, or (unbound, e.g. --oversubscribe) the node's cores over its ranks.
void share_cores(int local_size) {
  if (env("OMP_NUM_THREADS") || local_size <= 1) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  const int mine = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : int(online);
  const int threads = mine < online ? mine : std::max<int>(1, int(online) / local_size);
  omp_set_num_threads(std::max(1, threads));
}

}  // namespace

LaunchInfo launch_info() {
  LaunchInfo li;
  if (env("OMPI_COMM_WORLD_SIZE")) {
    li.size = env_int("OMPI_COMM_WORLD_SIZE", 1);
    li.rank = env_int("OMPI_COMM_WORLD_RANK", 0);
    li.local_rank = env_int("OMPI_COMM_WORLD_LOCAL_RANK", 0);
    li.local_size = env_int("OMPI_COMM_WORLD_LOCAL_SIZE", 1);
    li.launcher = env("SLURM_JOB_ID") && !env("OMPI_MCA_orte_hnp_uri") ? "srun" : "mpirun";
  } else if (env("PMIX_RANK") || env("PMI_RANK")) {
    li.rank = env("PMIX_RANK") ? env_int("PMIX_RANK", 0) : env_int("PMI_RANK", 0);
    li.size = env_int("PMI_SIZE", env_int("SLURM_STEP_NUM_TASKS", env_int("SLURM_NTASKS", 1)));
    li.local_rank = env_int("MPI_LOCALRANKID", env_int("SLURM_LOCALID", 0));
    li.local_size = env_int("MPI_LOCALNRANKS", 1);
    li.launcher = env("SLURM_JOB_ID") ? "srun" : "PMI";
  } else if (env("SLURM_PROCID") && env("SLURM_STEP_NUM_TASKS")) {
    li.rank = env_int("SLURM_PROCID", 0);
    li.size = env_int("SLURM_STEP_NUM_TASKS", 1);
    li.local_rank = env_int("SLURM_LOCALID", 0);
    li.launcher = "srun";
  }
  li.size = std::max(1, li.size);
  return li;
}

bool Comm::mpi_running() { return g_mpi_running; }

std::string Comm::mpi_library() {
#if COVERGAN_MPI
  char v[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int n = 0;
  MPI_Get_library_version(v, &n);  // allowed before MPI_Init
  std::string s(v, size_t(std::max(0, n)));
  const size_t cut = s.find_first_of(",\n");
  return cut == std::string::npos ? s : s.substr(0, cut);
#else
  return "not built (Open MPI was not found at configure time)";
#endif
}

Comm& Comm::world() {
  static Comm* w = [] {
    auto* c = new Comm;  // never destroyed: MPI must outlive every static that uses it
    c->host_ = hostname();
    const LaunchInfo li = launch_info();
    if (li.size > 1) {
      try {
        c->start_mpi(li);
      } catch (...) {
        delete c;
        throw;
      }
    } else {
      c->hosts_ = {c->host_};
      c->pids_ = {long(::getpid())};
    }
    return c;
  }();
  return *w;
}

std::string Comm::describe(int r) const {
  const std::string h = r >= 0 && size_t(r) < hosts_.size() ? hosts_[size_t(r)] : "?";
  const long pid = r >= 0 && size_t(r) < pids_.size() ? pids_[size_t(r)] : -1;
  return detail::cat("rank ", r, " of ", size_, " (host ", h, ", pid ", pid, ")");
}

std::string Comm::transport(Device d) const {
  if (!distributed()) return "none (one process)";
  if (d == Device::cuda) {
    if (g_nccl) return detail::cat("NCCL ", kCudaBuilt ? nccl::version() : "", " on the training stream, id over MPI");
    return "MPI through host copies (this build has no NCCL)";
  }
  return nodes_ > 1 ? detail::cat("MPI, ", nodes_, " nodes") : std::string("MPI over shared memory");
}

void Comm::set_timeout(double seconds) {
  CG_USER_CHECK(seconds > 0 && seconds < 1e7, "The rank timeout must be a positive number of seconds, got ",
                seconds, ".");
  timeout_s_ = seconds;
  if (g_mpi_running) watchdog::set_timeout(seconds);
}

int Comm::use_gpu() {
  if constexpr (kCudaBuilt) {
    const int n = nccl::gpu_count();
    CG_USER_CHECK(n > 0, describe(rank_), " sees no GPU on host ", host_, ".");
    CG_USER_CHECK(!distributed() || local_size_ <= n, "Host ", host_, " runs ", local_size_, " ranks but has ", n,
                  " GPU", n == 1 ? "" : "s", "; a GPU rank needs a GPU of its own: launch at most ", n,
                  " ranks per node (mpirun --map-by ppr:", n, ":node, or srun --ntasks-per-node=", n, ").");
    gpu_ = local_rank_ % n;
    nccl::select_gpu(gpu_);
    if constexpr (kNcclBuilt) {
      if (distributed() && !g_nccl) {
        std::string id(128, '\0');
        if (root()) nccl::unique_id(id.data());
        broadcast(id, "broadcast of the NCCL id");
        {
          watchdog::Blocking b("NCCL start-up");
          g_nccl = nccl::init(id.data(), rank_, size_);
        }
        watchdog::set_gpu(gpu_, g_nccl);
      }
    }
    return gpu_;
  } else {
    CG_FAIL("use_gpu: this build has no CUDA backend");
  }
}

namespace {

// While the per-op profiler records, a barrier before each all-reduce takes the wait for
// the slowest rank into a row of its own, so the all-reduce rows time the transfer alone.
void wait_for_ranks_when_profiling() {
#if COVERGAN_MPI
  if (!prof::g_on.load(std::memory_order_relaxed)) return;
  NVTX_RANGE("wait for the slowest rank");
  watchdog::Blocking b("barrier (profiling)");
  MPI_Barrier(MPI_COMM_WORLD);
#endif
}

template <class T>
void divide(T* p, int64_t n, int k) {
  const T d = T(k);
#pragma omp parallel for simd if (n > 65536)
  for (int64_t i = 0; i < n; ++i) p[i] = p[i] / d;
}

}  // namespace

void Comm::allreduce(void* p, int64_t n, DType dt, Device dev, ReduceOp op, const char* what) {
  CG_CHECK(dt == DType::f32 || dt == DType::f64, "Comm::allreduce: needs f32 or f64 values, got ", dtype_name(dt));
  if (!distributed() || n == 0) return;
  wait_for_ranks_when_profiling();
  NVTX_RANGE(what);
  const size_t bytes = size_t(n) * dtype_size(dt);
  // The profile's GB/s for this row is the bus bandwidth, as nccl-tests reports it: a ring
  // all-reduce moves 2 (N-1)/N times the buffer through each rank's link.
  prof::add_work(0, 2.0 * double(size_ - 1) / double(size_) * double(bytes));
  if (dev == Device::cuda) {
    if constexpr (kCudaBuilt) {
      if (g_nccl) {
        nccl::allreduce(g_nccl, p, n, dt == DType::f64, op == ReduceOp::mean);
        if (void* ev = nccl::record_event()) watchdog::gpu_op(ev, what);
        return;
      }
      std::vector<unsigned char> host(bytes);  // no NCCL: through the host
      device_copy(host.data(), Device::cpu, p, Device::cuda, bytes);
      allreduce(host.data(), n, dt, Device::cpu, op, what);
      device_copy(p, Device::cuda, host.data(), Device::cpu, bytes);
      return;
    }
  }
#if COVERGAN_MPI
  watchdog::Blocking b(what);
  const MPI_Datatype type = dt == DType::f32 ? MPI_FLOAT : MPI_DOUBLE;
  for (int64_t off = 0; off < n; off += INT_MAX / 2) {
    const int count = int(std::min<int64_t>(n - off, INT_MAX / 2));
    MPI_Allreduce(MPI_IN_PLACE, static_cast<char*>(p) + size_t(off) * dtype_size(dt), count, type, MPI_SUM,
                  MPI_COMM_WORLD);
  }
#endif
  if (op == ReduceOp::mean) {
    if (dt == DType::f32) divide(static_cast<float*>(p), n, size_);
    else divide(static_cast<double*>(p), n, size_);
  }
}

void Comm::allreduce(Tensor& t, ReduceOp op, const char* what) {
  allreduce(t.raw(), t.numel(), t.dtype(), t.device(), op, what);
}

void Comm::allreduce(std::vector<double>& v, ReduceOp op, const char* what) {
  allreduce(v.data(), int64_t(v.size()), DType::f64, Device::cpu, op, what);
}

void Comm::broadcast(std::string& bytes, const char* what) {
  if (!distributed()) return;
#if COVERGAN_MPI
  NVTX_RANGE(what);
  watchdog::Blocking b(what);
  uint64_t n = bytes.size();
  MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  bytes.resize(size_t(n));
  for (uint64_t off = 0; off < n; off += INT_MAX / 2)
    MPI_Bcast(bytes.data() + off, int(std::min<uint64_t>(n - off, INT_MAX / 2)), MPI_BYTE, 0, MPI_COMM_WORLD);
#endif
}

std::vector<std::string> Comm::allgather(const std::string& mine, const char* what) {
  if (!distributed()) return {mine};
  std::vector<std::string> out(static_cast<size_t>(size_));
#if COVERGAN_MPI
  NVTX_RANGE(what);
  watchdog::Blocking b(what);
  CG_CHECK(mine.size() < size_t(INT_MAX / size_), "Comm::allgather: ", mine.size(), " bytes per rank is too many");
  int len = int(mine.size());
  std::vector<int> lens(static_cast<size_t>(size_)), offs(static_cast<size_t>(size_));
  MPI_Allgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, MPI_COMM_WORLD);
  int total = 0;
  for (int r = 0; r < size_; ++r) offs[size_t(r)] = total, total += lens[size_t(r)];
  std::string all(size_t(total), '\0');
  MPI_Allgatherv(mine.data(), len, MPI_BYTE, all.data(), lens.data(), offs.data(), MPI_BYTE, MPI_COMM_WORLD);
  for (int r = 0; r < size_; ++r) out[size_t(r)] = all.substr(size_t(offs[size_t(r)]), size_t(lens[size_t(r)]));
#endif
  return out;
}

void Comm::settle(bool failed, const std::string& err, const char* what) {
  const std::vector<std::string> all = allgather(failed ? "1" + err : "0", what);
  int first = -1;
  bool same = true;
  for (int r = 0; r < size_; ++r) {
    if (all[size_t(r)][0] != '1') continue;
    if (first < 0) first = r;
    same = same && all[size_t(r)] == all[size_t(first)];
  }
  if (first < 0) return;
  const std::string msg = all[size_t(first)].substr(1);
  if (first == 0 || same) throw AgreedError(msg);
  std::string who = describe(first);
  who[0] = 'R';
  throw AgreedError(who + ": " + msg);
}

void Comm::start_mpi(const LaunchInfo& li) {
#if COVERGAN_MPI
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
  g_mpi_running = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  if (size_ != li.size) {  // e.g. srun without a PMI plugin: every task a world of one
    if (li.rank == 0)
      std::fprintf(stderr, "covergan: %s started %d ranks but MPI sees a world of %d; under Slurm launch with "
                   "`srun --mpi=pmix` (or pmi2), or use mpirun.\n", li.launcher.c_str(), li.size, size_);
    MPI_Finalize();
    std::exit(1);
  }
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &local_rank_);
  MPI_Comm_size(node, &local_size_);
  MPI_Comm_free(&node);
  int leader = local_rank_ == 0 ? 1 : 0;
  MPI_Allreduce(&leader, &nodes_, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  char name[64] = {0};
  std::strncpy(name, host_.c_str(), sizeof name - 1);
  std::vector<char> names(sizeof name * size_t(size_));
  MPI_Allgather(name, sizeof name, MPI_CHAR, names.data(), sizeof name, MPI_CHAR, MPI_COMM_WORLD);
  long pid = long(::getpid());
  pids_.resize(size_t(size_));
  MPI_Allgather(&pid, 1, MPI_LONG, pids_.data(), 1, MPI_LONG, MPI_COMM_WORLD);
  for (int r = 0; r < size_; ++r) hosts_.emplace_back(names.data() + sizeof name * size_t(r));
  share_cores(local_size_);
  watchdog::start(rank_, hosts_, pids_, timeout_s_, provided == MPI_THREAD_MULTIPLE);
#else
  throw Error(detail::cat("covergan was started by ", li.launcher, " as rank ", li.rank, " of ", li.size,
                          ", but this build has no MPI (Open MPI was not found when it was configured); install "
                          "libopenmpi-dev and rebuild, or run a single process without the launcher."));
#endif
}

void Comm::finalize() {
  if (!g_mpi_running || finalized_) return;
  finalized_ = true;
  watchdog::stop();
  if constexpr (kNcclBuilt)
    if (g_nccl) nccl::destroy(g_nccl), g_nccl = nullptr;
#if COVERGAN_MPI
  MPI_Finalize();
#endif
  g_mpi_running = false;
}

int exit_after_error(const std::string& msg, bool agreed) {
  if (!Comm::mpi_running()) {
    std::fprintf(stderr, "covergan: %s\n", msg.c_str());
    return 1;
  }
  Comm& w = Comm::world();
  if (agreed) {
    if (w.root()) std::fprintf(stderr, "covergan: %s\n", msg.c_str());
    std::fflush(stderr);
    w.finalize();
    return 1;
  }
  std::fprintf(stderr, "covergan: %s: %s\n", w.describe(w.rank()).c_str(), msg.c_str());
  std::fflush(stderr);
#if COVERGAN_MPI
  MPI_Abort(MPI_COMM_WORLD, 1);
#endif
  return 1;
}

std::string build_fingerprint() {
  std::ifstream in("/proc/self/exe", std::ios::binary);
  if (!in) return "unknown";
  std::vector<char> buf(size_t(1) << 20);
  uLong crc = crc32(0L, Z_NULL, 0);
  uint64_t total = 0;
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    const std::streamsize got = in.gcount();
    if (got <= 0) break;
    crc = crc32(crc, reinterpret_cast<const Bytef*>(buf.data()), uInt(got));
    total += uint64_t(got);
  }
  char out[64];
  std::snprintf(out, sizeof out, "%llu bytes, crc32 %08lx", static_cast<unsigned long long>(total),
                static_cast<unsigned long>(crc));
  return out;
}

}  // namespace cg
