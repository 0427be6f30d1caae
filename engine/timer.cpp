// DeviceTimer (see timer.h). The CUDA event calls live in engine/timer_cuda.cu.
#include "engine/timer.h"

#include <chrono>

namespace cg {

#if COVERGAN_CUDA
void cuda_events_create(void* ev[2]);
void cuda_events_destroy(void* ev[2]);
void cuda_event_record(void* ev);
double cuda_events_elapsed_seconds(void* ev[2]);
#endif

static double now_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

DeviceTimer::DeviceTimer(Device d) : dev_(d) {
#if COVERGAN_CUDA
  if (dev_ == Device::cuda) cuda_events_create(ev_);
#endif
}

DeviceTimer::~DeviceTimer() {
#if COVERGAN_CUDA
  if (dev_ == Device::cuda) cuda_events_destroy(ev_);
#endif
}

void DeviceTimer::start() {
#if COVERGAN_CUDA
  if (dev_ == Device::cuda) return cuda_event_record(ev_[0]);
#endif
  t0_ = now_seconds();
}

double DeviceTimer::stop_seconds() {
#if COVERGAN_CUDA
  if (dev_ == Device::cuda) {
    cuda_event_record(ev_[1]);
    return cuda_events_elapsed_seconds(ev_);
  }
#endif
  return now_seconds() - t0_;
}

}  // namespace cg
