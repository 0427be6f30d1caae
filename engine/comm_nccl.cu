// The GPU half of the communicator (see comm_nccl.h): GPU selection with the CUDA
// runtime, and, when the build found NCCL, its communicator and all-reduce on the
// engine's training stream (base/cuda_context.h), so a captured CUDA graph of the
// iteration takes the all-reduce with it.
#include "engine/comm_nccl.h"

#include <cstdio>
#include <cstring>

#include "base/cuda_check.h"
#include "base/cuda_context.h"
#include "base/nvtx.h"

#if COVERGAN_NCCL
#include <nccl.h>

#define ncclCheck(stmt)                                                                           \
  do {                                                                                            \
    ncclResult_t r_ = (stmt);                                                                     \
    if (r_ != ncclSuccess)                                                                        \
      ::cg::fail_at(__FILE__, __LINE__, ::cg::detail::cat("NCCL error: ", #stmt, ": ", ncclGetErrorString(r_), \
                                                          " (", ncclGetLastError(nullptr), ")"));  \
  } while (0)
#endif

namespace cg::nccl {

int gpu_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();  // no driver or no GPU: clear the sticky error
    return 0;
  }
  return n;
}

void select_gpu(int index) { cudaCheck(cudaSetDevice(index)); }

void* record_event() {
  cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
  cudaCheck(cudaStreamIsCapturing(cuda::stream(), &capturing));
  if (capturing != cudaStreamCaptureStatusNone) return nullptr;
  cudaEvent_t ev;
  cudaCheck(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
  cudaCheck(cudaEventRecord(ev, cuda::stream()));
  return ev;
}

bool event_done(void* event) {
  const cudaError_t e = cudaEventQuery(static_cast<cudaEvent_t>(event));
  if (e == cudaErrorNotReady) return false;
  cudaCheck(e);
  return true;
}

void event_destroy(void* event) { (void)cudaEventDestroy(static_cast<cudaEvent_t>(event)); }

#if COVERGAN_NCCL

const char* version() {
  static char buf[32];
  int v = 0;
  ncclGetVersion(&v);
  std::snprintf(buf, sizeof buf, "%d.%d.%d", v / 10000, (v / 100) % 100, v % 100);
  return buf;
}

void unique_id(char* id) {
  static_assert(sizeof(ncclUniqueId) == 128, "NCCL's unique id is 128 bytes");
  ncclUniqueId u;
  ncclCheck(ncclGetUniqueId(&u));
  std::memcpy(id, &u, sizeof u);
}

void* init(const char* id, int rank, int size) {
  ncclUniqueId u;
  std::memcpy(&u, id, sizeof u);
  ncclComm_t comm;
  ncclCheck(ncclCommInitRank(&comm, size, u, rank));
  return comm;
}

void allreduce(void* comm, void* p, int64_t n, bool f64, bool mean) {
  NVTX_RANGE_FN();
  ncclCheck(ncclAllReduce(p, p, size_t(n), f64 ? ncclDouble : ncclFloat, mean ? ncclAvg : ncclSum,
                          static_cast<ncclComm_t>(comm), cuda::stream()));
}

void abort(void* comm) { (void)ncclCommAbort(static_cast<ncclComm_t>(comm)); }

void destroy(void* comm) { (void)ncclCommDestroy(static_cast<ncclComm_t>(comm)); }

#else  // CUDA without NCCL: the communicator sends GPU values through the host

const char* version() { return "(none)"; }
void unique_id(char*) { CG_FAIL("this build has no NCCL"); }
void* init(const char*, int, int) { CG_FAIL("this build has no NCCL"); }
void allreduce(void*, void*, int64_t, bool, bool) { CG_FAIL("this build has no NCCL"); }
void abort(void*) {}
void destroy(void*) {}

#endif

}  // namespace cg::nccl
