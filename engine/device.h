// Devices and their memory: the CPU (aligned host memory) and CUDA (a caching
// allocator on the engine's stream, in engine/device_cuda.cu). Without a CUDA
// build or a GPU, asking for cuda is an error that says so in one sentence.
#pragma once
#include <cstddef>
#include <string>

namespace cg {

enum class Device : unsigned char { cpu, cuda };
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

}  // namespace cg
