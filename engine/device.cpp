// Device selection and CPU memory. CUDA memory is in engine/device_cuda.cu;
// in a build without CUDA the cuda branches fail with one clear sentence.
#include "engine/device.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "base/check.h"
#include "base/host_memory.h"
#include "engine/device_cuda.h"

namespace cg {

namespace {

// The CPU side of buffer reuse: a training step allocates the same shapes every
// iteration, so large freed blocks are kept by exact size and handed out again instead
// of going back to the system (which would page-fault and clear them next time). At
// most kCacheCap bytes are kept. Sanitizer builds skip the cache so that a
// use-after-free is still caught.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCacheOn = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kCacheOn = false;
#else
constexpr bool kCacheOn = true;
#endif
#else
constexpr bool kCacheOn = true;
#endif
constexpr size_t kCacheMin = 64 * 1024;              // smaller blocks: malloc's own bins are fast
constexpr size_t kCacheCap = size_t(2) << 30;        // bytes kept for reuse at most

struct HostCache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free;  // rounded size -> blocks
  size_t cached = 0;
  ~HostCache() { clear(); }
  void clear() {
    std::lock_guard<std::mutex> lk(mu);
    for (auto& [sz, v] : free)
      for (void* p : v) std::free(p);
    free.clear();
    cached = 0;
  }
};
HostCache& host_cache() {
  static HostCache* c = new HostCache;  // never destroyed: tensors may be freed during static destruction
  return *c;
}

void* host_alloc(size_t rounded) {
  if (kCacheOn && rounded >= kCacheMin) {
    HostCache& c = host_cache();
    std::lock_guard<std::mutex> lk(c.mu);
    auto it = c.free.find(rounded);
    if (it != c.free.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.cached -= rounded;
      return p;
    }
  }
  return host_alloc_aligned(rounded);
}

void host_free(void* p, size_t rounded) {
  if (kCacheOn && p && rounded >= kCacheMin) {
    HostCache& c = host_cache();
    std::lock_guard<std::mutex> lk(c.mu);
    if (c.cached + rounded <= kCacheCap) {
      c.free[rounded].push_back(p);
      c.cached += rounded;
      return;
    }
  }
  std::free(p);
}

[[noreturn]] void no_cuda() {
  throw Error("this covergan was built without the CUDA backend; rebuild with nvcc present "
              "or use --device cpu");
}
}  // namespace

const char* device_name(Device d) { return d == Device::cpu ? "cpu" : "cuda"; }

bool cuda_available() {
  if constexpr (kCudaBuilt) return cuda_device_present();
  else return false;
}

Device resolve_device(const std::string& spec, bool announce) {
  if (spec == "cpu") return Device::cpu;
  if (spec == "cuda") {
    if constexpr (!kCudaBuilt) no_cuda();
    if (!cuda_available()) throw Error("no CUDA GPU is available on this machine; use --device cpu or auto");
    return Device::cuda;
  }
  if (spec == "auto") {
    if (cuda_available()) return Device::cuda;
    if (announce) std::fprintf(stderr, "covergan: no CUDA GPU found, using the CPU\n");
    return Device::cpu;
  }
  throw Error("unknown device '" + spec + "': use cpu, cuda or auto");
}

void* device_alloc(Device d, size_t bytes) {
  if (d == Device::cpu) {
    // 64-byte alignment for vector loads; aligned_alloc needs a multiple of the alignment.
    size_t rounded = (bytes + 63) / 64 * 64;
    void* p = host_alloc(rounded);
    if (!p) throw Error("out of host memory allocating " + std::to_string(bytes) + " bytes");
    return p;
  }
  if constexpr (kCudaBuilt) return cuda_alloc(bytes);
  else no_cuda();
}

void device_free(Device d, void* ptr, size_t bytes) {
  if (d == Device::cpu) return host_free(ptr, (bytes + 63) / 64 * 64);
  if constexpr (kCudaBuilt) cuda_free(ptr, bytes);
}

void device_copy(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes) {
  if (bytes == 0) return;
  if (dst_dev == Device::cpu && src_dev == Device::cpu) {
    std::memcpy(dst, src, bytes);
    return;
  }
  if constexpr (kCudaBuilt) cuda_copy(dst, dst_dev == Device::cuda, src, src_dev == Device::cuda, bytes);
  else no_cuda();
}

void device_memset_zero(void* ptr, Device d, size_t bytes) {
  if (bytes == 0) return;
  if (d == Device::cpu) {
    std::memset(ptr, 0, bytes);
    return;
  }
  if constexpr (kCudaBuilt) cuda_memset_zero(ptr, bytes);
  else no_cuda();
}

namespace {
void synchronize_cuda() { device_synchronize(Device::cuda); }
}  // namespace

SyncFn device_sync_fn(Device d) { return d == Device::cuda ? &synchronize_cuda : nullptr; }

void device_synchronize(Device d) {
  if constexpr (kCudaBuilt)
    if (d == Device::cuda) cuda_synchronize();
}

DeviceMemoryStats device_memory_stats() {
  if constexpr (kCudaBuilt) return cuda_memory_stats();
  else return {};
}

void device_empty_cache() {
  host_cache().clear();
  if constexpr (kCudaBuilt) cuda_empty_cache();
}

void reset_peak_device_memory() {
  if constexpr (kCudaBuilt) cuda_reset_peak();
}

}  // namespace cg
