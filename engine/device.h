// Devices and their memory: the CPU (aligned host memory) and CUDA (a caching
// allocator on the engine's stream, in engine/device_cuda.cu). Without a CUDA
// build or a GPU, asking for cuda is an error that says so in one sentence.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace cg {

enum class Device : unsigned char { cpu, cuda };

// Whether this binary has the CUDA backend. COVERGAN_CUDA is always 0 or 1 (CMake sets
// it), so engine code branches with `if constexpr (kCudaBuilt)` instead of #if: a
// discarded branch's calls need no definition, and both builds parse every line.
inline constexpr bool kCudaBuilt = COVERGAN_CUDA != 0;
const char* device_name(Device d);

// True when this binary has the CUDA backend and a GPU answers.
bool cuda_available();
// Parses "cpu", "cuda" or "auto" (cuda when available, else cpu, saying so on stderr).
Device resolve_device(const std::string& spec, bool announce = true);

void* device_alloc(Device d, size_t bytes);
void device_free(Device d, void* ptr, size_t bytes);
void device_copy(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes);
void device_memset_zero(void* ptr, Device d, size_t bytes);
void device_synchronize(Device d);
// What the profiler (base/profile.h) calls at each scope boundary for device d: a wait
// for the GPU on cuda, nothing on the cpu.
using SyncFn = void (*)();
SyncFn device_sync_fn(Device d);

// The CUDA caching allocator's counters (all zero in a build without CUDA or before
// the first CUDA allocation). Sizes are the rounded block sizes the cache hands out.
struct DeviceMemoryStats {
  size_t bytes_in_use = 0;       // blocks held by live tensors
  size_t peak_bytes_in_use = 0;  // since start or reset_peak_device_memory()
  size_t bytes_cached = 0;       // free blocks kept for reuse, not returned to the driver
  uint64_t alloc_requests = 0;   // device_alloc calls on cuda
  uint64_t cache_hits = 0;       // requests served from the cache
  uint64_t cuda_malloc_count = 0;
  uint64_t cuda_free_count = 0;
};
DeviceMemoryStats device_memory_stats();
// Returns every cached (free) block to the system: CUDA blocks to the driver and the
// CPU reuse cache (engine/device.cpp) to malloc; blocks in use are untouched.
void device_empty_cache();
void reset_peak_device_memory();

}  // namespace cg
