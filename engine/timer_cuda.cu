// CUDA events for DeviceTimer, recorded on the engine stream.
#include "base/cuda_check.h"
#include "base/cuda_context.h"
#include "engine/device_cuda.h"

namespace cg {

void cuda_events_create(void* ev[2]) {
  for (int i = 0; i < 2; ++i) {
    cudaEvent_t e;
    cudaCheck(cudaEventCreate(&e));
    ev[i] = e;
  }
}

void cuda_events_destroy(void* ev[2]) {
  for (int i = 0; i < 2; ++i)
    if (ev[i]) cudaEventDestroy(static_cast<cudaEvent_t>(ev[i]));
}

void cuda_event_record(void* ev) { cudaCheck(cudaEventRecord(static_cast<cudaEvent_t>(ev), cuda::stream())); }

double cuda_events_elapsed_seconds(void* ev[2]) {
  cudaCheck(cudaEventSynchronize(static_cast<cudaEvent_t>(ev[1])));
  float ms = 0;
  cudaCheck(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(ev[0]), static_cast<cudaEvent_t>(ev[1])));
  return ms * 1e-3;
}

}  // namespace cg
