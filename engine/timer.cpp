// DeviceTimer (see timer.h). The CUDA event calls live in engine/timer_cuda.cu.
#include "engine/timer.h"

#include <chrono>

#include "engine/device_cuda.h"

namespace cg {

static double now_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

DeviceTimer::DeviceTimer(Device d) : dev_(d) {
  if constexpr (kCudaBuilt)
    if (dev_ == Device::cuda) cuda_events_create(ev_);
}

DeviceTimer::~DeviceTimer() {
  if constexpr (kCudaBuilt)
    if (dev_ == Device::cuda) cuda_events_destroy(ev_);
}

void DeviceTimer::start() {
  if constexpr (kCudaBuilt)
    if (dev_ == Device::cuda) return cuda_event_record(ev_[0]);
  t0_ = now_seconds();
}

double DeviceTimer::stop_seconds() {
  if constexpr (kCudaBuilt) {
    if (dev_ == Device::cuda) {
      cuda_event_record(ev_[1]);
      return cuda_events_elapsed_seconds(ev_);
    }
  }
  return now_seconds() - t0_;
}

}  // namespace cg
