// The GPU half of engine/comm.h, implemented in engine/comm_nccl.cu: GPU selection,
// the NCCL communicator and its all-reduce on the training stream, and the events the
// watchdog polls. Plain declarations: callers reach them only inside
// `if constexpr (kCudaBuilt)` (and kNcclBuilt for the NCCL ones), so other builds never link them.
#pragma once
#include <cstdint>

namespace cg::nccl {

int gpu_count();
void select_gpu(int index);  // cudaSetDevice, for the calling thread
const char* version();       // "2.28.9"

// ncclGetUniqueId into id (128 bytes); rank 0 makes it and MPI carries it to the others.
void unique_id(char* id);
// ncclCommInitRank on the current GPU; returns the ncclComm_t.
void* init(const char* id, int rank, int size);
// In place on cuda::stream(): the sum (mean: ncclAvg) of n floats or doubles at p.
void allreduce(void* comm, void* p, int64_t n, bool f64, bool mean);
// An event recorded on the training stream after the last enqueued work (null while the
// stream is being captured into a CUDA graph, where such an event cannot be polled).
void* record_event();
bool event_done(void* event);  // from any thread; selects the rank's GPU first
void event_destroy(void* event);
// ncclCommAbort: the GPU kernels waiting for a peer that will never come end.
void abort(void* comm);
void destroy(void* comm);

}  // namespace cg::nccl
