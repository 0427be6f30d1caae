// CUDA memory for the engine: a caching allocator, copies and zeroing on the
// engine stream, and page-locked host buffers for uploads (engine/pinned.h).
//
// The caching allocator keeps freed blocks in free lists keyed by their rounded
// size and hands them out again instead of calling cudaMalloc: a training step
// has static shapes, so from the second step on it allocates nothing from the
// driver. A block freed by the host may still be in use by kernels queued on
// cuda::stream(); every kernel and copy of the engine runs on that one stream, so
// a later user of the same block is ordered after them. cudaFree happens only in
// device_empty_cache() and when a cudaMalloc fails (then the cache is emptied and
// the cudaMalloc retried once).
//
// CUDA graphs: while a graph is captured, every block handed out belongs to that graph's
// pool, and a block the capture frees goes back to that pool only; so once captured,
// the graph's intermediate buffers (whose addresses it replays) are never lent to other
// work, until the graph is destroyed and its pool returns to the common cache.
#include <cstdio>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "base/check.h"
#include "base/cuda_check.h"
#include "base/cuda_context.h"
#include "engine/device_cuda.h"

namespace cg {
namespace {

// Small blocks round up to 512 bytes; large ones to a quarter of their power of two
// (at most 25% waste), so shapes that differ slightly still share a size class.
size_t round_block(size_t bytes) {
  constexpr size_t kSmall = 1 << 20;
  if (bytes <= kSmall) return (bytes + 511) / 512 * 512;
  size_t p = kSmall;
  while (p * 2 <= bytes) p *= 2;
  const size_t step = p / 4;
  return (bytes + step - 1) / step * step;
}

using FreeLists = std::unordered_map<size_t, std::vector<void*>>;  // rounded size -> free blocks

// Takes a block of size r from lists, or null.
void* take(FreeLists& lists, size_t r) {
  auto it = lists.find(r);
  if (it == lists.end() || it->second.empty()) return nullptr;
  void* p = it->second.back();
  it->second.pop_back();
  return p;
}

class CachingAllocator {
 public:
  void* alloc(size_t bytes) {
    const size_t r = round_block(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    ++st_.alloc_requests;
    void* p = capture_pool_ ? take(pools_[capture_pool_], r) : nullptr;  // the graph's own blocks first
    if (!p) p = take(free_, r);
    if (p) {
      st_.bytes_cached -= r;
      ++st_.cache_hits;
    } else {
      p = malloc_with_retry(r, bytes);
    }
    if (capture_pool_) owner_[p] = capture_pool_;
    live_[p] = r;
    st_.bytes_in_use += r;
    if (st_.bytes_in_use > st_.peak_bytes_in_use) st_.peak_bytes_in_use = st_.bytes_in_use;
    return p;
  }

  // Called from destructors: never throws.
  void free(void* p) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(p);
    if (it == live_.end()) {
      std::fprintf(stderr, "covergan: internal error: freeing a CUDA pointer the allocator did not hand out\n");
      return;
    }
    const size_t r = it->second;
    live_.erase(it);
    st_.bytes_in_use -= r;
    const auto own = owner_.find(p);
    (own != owner_.end() ? pools_[own->second] : free_)[r].push_back(p);
    st_.bytes_cached += r;
  }

  // Graph pools (see the top of this file). begin: blocks handed out from now on belong to
  // a new pool; end: back to the common cache for new blocks (the pool stays reserved);
  // release: the pool's free blocks join the common cache and its live ones will on free.
  int begin_pool() {
    std::lock_guard<std::mutex> lock(mu_);
    capture_pool_ = ++last_pool_;
    pools_[capture_pool_];
    return capture_pool_;
  }
  void end_pool() {
    std::lock_guard<std::mutex> lock(mu_);
    capture_pool_ = 0;
  }
  void release_pool(int pool) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pools_.find(pool);
    if (it == pools_.end()) return;
    for (auto& [size, blocks] : it->second)
      for (void* b : blocks) free_[size].push_back(b);
    pools_.erase(it);
    for (auto o = owner_.begin(); o != owner_.end();) o = o->second == pool ? owner_.erase(o) : std::next(o);
  }

  void empty_cache() {
    std::lock_guard<std::mutex> lock(mu_);
    release_cached();
  }

  DeviceMemoryStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return st_;
  }

  void reset_peak() {
    std::lock_guard<std::mutex> lock(mu_);
    st_.peak_bytes_in_use = st_.bytes_in_use;
  }

 private:
  std::mutex mu_;
  FreeLists free_;                          // the common cache
  std::unordered_map<void*, size_t> live_;  // block -> rounded size
  std::map<int, FreeLists> pools_;          // graph pool -> its free blocks
  std::unordered_map<void*, int> owner_;    // block -> graph pool, for blocks a capture handed out
  int capture_pool_ = 0, last_pool_ = 0;    // the pool of the capture under way (0: none)
  DeviceMemoryStats st_;

  // Caller holds mu_. The common cache only: a graph's pool stays with its graph.
  void release_cached() {
    if (capture_pool_) return;  // no cudaFree (it synchronises) inside a capture
    size_t released = 0;
    cudaDeviceSynchronize();  // queued kernels may still read freed blocks
    for (auto& [size, blocks] : free_) {
      for (void* b : blocks) {
        cudaFree(b);
        ++st_.cuda_free_count;
        released += size;
      }
      blocks.clear();
    }
    free_.clear();
    st_.bytes_cached -= released;
  }

  // cudaMalloc, allowed while this thread captures a graph (it is not a stream operation:
  // the graph only ever sees the pointer), by switching the thread to relaxed capture mode.
  static cudaError_t raw_malloc(void** p, size_t r) {
    cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
    cudaThreadExchangeStreamCaptureMode(&mode);
    const cudaError_t err = cudaMalloc(p, r);
    cudaThreadExchangeStreamCaptureMode(&mode);
    return err;
  }

  void* malloc_with_retry(size_t r, size_t asked) {
    void* p = nullptr;
    ++st_.cuda_malloc_count;
    cudaError_t err = raw_malloc(&p, r);
    if (err == cudaSuccess) return p;
    cudaGetLastError();  // clear the error before retrying
    if (err == cudaErrorMemoryAllocation) {
      release_cached();
      ++st_.cuda_malloc_count;
      err = raw_malloc(&p, r);
      if (err == cudaSuccess) return p;
      cudaGetLastError();
    }
    if (err == cudaErrorMemoryAllocation)
      throw Error("the GPU is out of memory allocating " + std::to_string(asked >> 20) + " MiB (" +
                  std::to_string(st_.bytes_in_use >> 20) +
                  " MiB already in use by covergan); try a smaller --batch or --base-channels");
    throw Error("cannot allocate " + std::to_string(asked) + " bytes on the GPU: " + cudaGetErrorString(err));
  }
};

// Never destroyed: tensors in static storage may free blocks during exit.
CachingAllocator& allocator() {
  static CachingAllocator* a = new CachingAllocator();
  return *a;
}

}  // namespace

bool cuda_device_present() {
  static int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky "no driver" error
      return 0;
    }
    return n;
  }();
  return count > 0;
}

void* cuda_alloc(size_t bytes) {
  if (!cuda_device_present()) throw Error("no CUDA GPU is available on this machine; use --device cpu or auto");
  return bytes ? allocator().alloc(bytes) : nullptr;
}

void cuda_free(void* ptr, size_t) {
  if (ptr) allocator().free(ptr);
}

DeviceMemoryStats cuda_memory_stats() { return allocator().stats(); }

// ---- CUDA graphs (engine/cuda_graph.h) ----------------------------------------------

int cuda_graph_capture_begin() {
  const int pool = allocator().begin_pool();
  // Thread-local: a synchronising call of this thread inside the capture is an error (as it
  // must be), the loader's thread is unaffected.
  const cudaError_t err = cudaStreamBeginCapture(cuda::stream(), cudaStreamCaptureModeThreadLocal);
  if (err != cudaSuccess) {
    allocator().end_pool();
    allocator().release_pool(pool);
    cudaCheck(err);
  }
  return pool;
}

void cuda_graph_capture_end(void** graph, void** exec) {
  cudaGraph_t g = nullptr;
  const cudaError_t err = cudaStreamEndCapture(cuda::stream(), &g);
  allocator().end_pool();
  if (err != cudaSuccess) {
    cudaGetLastError();
    if (g) cudaGraphDestroy(g);
    throw Error(std::string("capturing the training iteration as a CUDA graph failed: ") + cudaGetErrorString(err) +
                "; run with --no-graph");
  }
  cudaGraphExec_t e = nullptr;
  cudaCheck(cudaGraphInstantiate(&e, g, 0));
  *graph = g;
  *exec = e;
}

void cuda_graph_launch(void* exec) { cudaCheck(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec), cuda::stream())); }

void cuda_graph_destroy(void* graph, void* exec, int pool) {
  cudaStreamSynchronize(cuda::stream());  // a replay may still run
  if (exec) cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec));
  if (graph) cudaGraphDestroy(static_cast<cudaGraph_t>(graph));
  if (pool) allocator().release_pool(pool);
}

// ---- asynchronous downloads into pinned memory (engine/pinned.h) ---------------------

void cuda_download_async(void* dst, const void* src, size_t bytes, void** event) {
  if (!*event) {
    cudaEvent_t e = nullptr;
    cudaCheck(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    *event = e;
  }
  cudaCheck(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, cuda::stream()));
  cudaCheck(cudaEventRecord(static_cast<cudaEvent_t>(*event), cuda::stream()));
}

bool cuda_event_done(void* event) {
  if (!event) return true;
  const cudaError_t err = cudaEventQuery(static_cast<cudaEvent_t>(event));
  if (err == cudaErrorNotReady) return false;
  cudaCheck(err);
  return true;
}
void cuda_empty_cache() { allocator().empty_cache(); }
void cuda_reset_peak() { allocator().reset_peak(); }

void cuda_copy(void* dst, bool dst_cuda, const void* src, bool src_cuda, size_t bytes) {
  cudaMemcpyKind kind = dst_cuda ? (src_cuda ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                 : cudaMemcpyDeviceToHost;
  cudaCheck(cudaMemcpyAsync(dst, src, bytes, kind, cuda::stream()));
  if (!dst_cuda) cudaCheck(cudaStreamSynchronize(cuda::stream()));
}

void cuda_memset_zero(void* ptr, size_t bytes) { cudaCheck(cudaMemsetAsync(ptr, 0, bytes, cuda::stream())); }

void cuda_synchronize() { cudaCheck(cudaStreamSynchronize(cuda::stream())); }

int cuda_current_device() {
  int d = 0;
  cudaCheck(cudaGetDevice(&d));
  return d;
}

void cuda_use_device(int index) { cudaCheck(cudaSetDevice(index)); }

// ---- page-locked host memory (engine/pinned.cpp) ------------------------------

// Null when there is no GPU or the driver refuses; the caller falls back to plain memory.
void* cuda_host_alloc(size_t bytes) {
  if (!cuda_device_present()) return nullptr;
  void* p = nullptr;
  if (cudaHostAlloc(&p, bytes, cudaHostAllocDefault) != cudaSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  return p;
}

void cuda_host_free(void* p) {
  if (p) cudaFreeHost(p);
}

// dst (device) <- src (pinned host), asynchronous on the engine stream; *event is
// created on first use and recorded after the copy so the host can wait for it.
void cuda_upload_async(void* dst, const void* src, size_t bytes, void** event) {
  if (!*event) {
    cudaEvent_t e = nullptr;
    cudaCheck(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    *event = e;
  }
  cudaCheck(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, cuda::stream()));
  cudaCheck(cudaEventRecord(static_cast<cudaEvent_t>(*event), cuda::stream()));
}

void cuda_event_wait(void* event) {
  if (event) cudaCheck(cudaEventSynchronize(static_cast<cudaEvent_t>(event)));
}

void cuda_event_destroy(void* event) {
  if (event) cudaEventDestroy(static_cast<cudaEvent_t>(event));
}

}  // namespace cg
