// The CUDA half of the engine's devices, timers and pinned buffers, implemented in
// engine/device_cuda.cu and engine/timer_cuda.cu. Plain declarations: callers reach
// them only inside `if constexpr (kCudaBuilt)`, so a CPU-only build never links them.
#pragma once
#include <cstddef>

#include "engine/device.h"

namespace cg {

bool cuda_device_present();
void* cuda_alloc(size_t bytes);
void cuda_free(void* ptr, size_t bytes);
void cuda_copy(void* dst, bool dst_cuda, const void* src, bool src_cuda, size_t bytes);
void cuda_memset_zero(void* ptr, size_t bytes);
void cuda_synchronize();
// The calling thread's GPU (cudaGetDevice / cudaSetDevice): a thread the engine starts
// (the loader's) takes its creator's, so a rank bound to GPU 3 never touches GPU 0.
int cuda_current_device();
void cuda_use_device(int index);
DeviceMemoryStats cuda_memory_stats();
void cuda_empty_cache();
void cuda_reset_peak();

// Page-locked host memory and asynchronous uploads (engine/pinned.h).
void* cuda_host_alloc(size_t bytes);
void cuda_host_free(void* p);
void cuda_upload_async(void* dst, const void* src, size_t bytes, void** event);
void cuda_event_wait(void* event);
void cuda_event_destroy(void* event);

// Downloads into page-locked memory: dst (pinned host) <- src (device), asynchronous, an
// event recorded after it; cuda_event_done asks without waiting.
void cuda_download_async(void* dst, const void* src, size_t bytes, void** event);
bool cuda_event_done(void* event);

// CUDA graphs (engine/cuda_graph.h): capture of the engine stream with its own memory pool.
int cuda_graph_capture_begin();  // returns the pool
void cuda_graph_capture_end(void** graph, void** exec);
void cuda_graph_launch(void* exec);
void cuda_graph_destroy(void* graph, void* exec, int pool);

// The event pair of a DeviceTimer (engine/timer.h).
void cuda_events_create(void* ev[2]);
void cuda_events_destroy(void* ev[2]);
void cuda_event_record(void* ev);
double cuda_events_elapsed_seconds(void* ev[2]);

}  // namespace cg
