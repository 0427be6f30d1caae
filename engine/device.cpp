// Device selection and CPU memory. CUDA memory is in engine/device_cuda.cu;
// in a build without CUDA the cuda branches fail with one clear sentence.
#include "engine/device.h"

#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "base/check.h"

namespace cg {

#if COVERGAN_CUDA
// Implemented in engine/device_cuda.cu.
bool cuda_device_present();
void* cuda_alloc(size_t bytes);
void cuda_free(void* ptr, size_t bytes);
void cuda_copy(void* dst, bool dst_cuda, const void* src, bool src_cuda, size_t bytes);
void cuda_memset_zero(void* ptr, size_t bytes);
void cuda_synchronize();
DeviceMemoryStats cuda_memory_stats();
void cuda_empty_cache();
void cuda_reset_peak();
#endif

void* host_alloc_aligned(size_t bytes) {
  constexpr size_t kHuge = size_t(2) << 20;
  static const bool off = std::getenv("COVERGAN_NO_HUGEPAGES") != nullptr;  // for A/B timing
  if (bytes < kHuge || off) return std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  const size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
  void* p = std::aligned_alloc(kHuge, rounded);
  if (p) ::madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure changes nothing
  return p;
}

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

[[noreturn, maybe_unused]] void no_cuda() {
  throw Error("this covergan was built without the CUDA backend; rebuild with nvcc present "
              "or use --device cpu");
}
}  // namespace

const char* device_name(Device d) { return d == Device::cpu ? "cpu" : "cuda"; }

bool cuda_available() {
#if COVERGAN_CUDA
  return cuda_device_present();
#else
  return false;
#endif
}

Device resolve_device(const std::string& spec, bool announce) {
  if (spec == "cpu") return Device::cpu;
  if (spec == "cuda") {
#if !COVERGAN_CUDA
    no_cuda();
#endif
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
#if COVERGAN_CUDA
  return cuda_alloc(bytes);
#else
  no_cuda();
#endif
}

void device_free(Device d, void* ptr, size_t bytes) {
  if (d == Device::cpu) return host_free(ptr, (bytes + 63) / 64 * 64);
#if COVERGAN_CUDA
  cuda_free(ptr, bytes);
#else
  (void)ptr; (void)bytes;
#endif
}

void device_copy(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes) {
  if (bytes == 0) return;
  if (dst_dev == Device::cpu && src_dev == Device::cpu) {
    std::memcpy(dst, src, bytes);
    return;
  }
#if COVERGAN_CUDA
  cuda_copy(dst, dst_dev == Device::cuda, src, src_dev == Device::cuda, bytes);
#else
  no_cuda();
#endif
}

void device_memset_zero(void* ptr, Device d, size_t bytes) {
  if (bytes == 0) return;
  if (d == Device::cpu) {
    std::memset(ptr, 0, bytes);
    return;
  }
#if COVERGAN_CUDA
  cuda_memset_zero(ptr, bytes);
#else
  no_cuda();
#endif
}

void device_synchronize(Device d) {
#if COVERGAN_CUDA
  if (d == Device::cuda) cuda_synchronize();
#else
  (void)d;
#endif
}

DeviceMemoryStats device_memory_stats() {
#if COVERGAN_CUDA
  return cuda_memory_stats();
#else
  return {};
#endif
}

void device_empty_cache() {
  host_cache().clear();
#if COVERGAN_CUDA
  cuda_empty_cache();
#endif
}

void reset_peak_device_memory() {
#if COVERGAN_CUDA
  cuda_reset_peak();
#endif
}

}  // namespace cg
