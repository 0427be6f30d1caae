// Timing for benchmarks: CUDA events on the engine stream for cuda work (so the
// GPU's own clock is measured, not the launch overhead), steady_clock on the CPU.
#pragma once
#include "engine/device.h"

namespace cg {

class DeviceTimer {
 public:
  explicit DeviceTimer(Device d);
  ~DeviceTimer();
  DeviceTimer(const DeviceTimer&) = delete;
  DeviceTimer& operator=(const DeviceTimer&) = delete;
  void start();
  double stop_seconds();  // waits for the device, returns elapsed seconds since start()

 private:
  Device dev_;
  double t0_ = 0;
  void* ev_[2] = {nullptr, nullptr};
};

}  // namespace cg
