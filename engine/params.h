// A model's parameters and buffers in flat storage: every trainable parameter is
// a view into one buffer and its gradient a view into a second, so Adam is one
// pass and zero_grad one memset. Non-trainable buffers (BatchNorm running stats)
// live in a third flat buffer. Declare everything, then finalize() allocates.
#pragma once
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace cg {

class ParamStore {
 public:
  static constexpr int64_t kAlign = 64;  // elements; every slice starts on this boundary

  // Declares a trainable parameter (e.g. "G.fc.weight"); storage arrives at finalize().
  Tensor param(const std::string& name, Shape shape);
  // Declares a non-trainable buffer (e.g. "D.conv2.bn.running_var").
  Tensor buffer(const std::string& name, Shape shape);
  // Allocates the flat buffers and binds every declared tensor to its slice; grads zeroed.
  void finalize(Device device, DType dtype = DType::f32);
  bool finalized() const { return finalized_; }

  // Zeroes the gradients for the backward that follows: one memset, skipped where the last
  // Adam step left them zero already (grads_zeroed_by_step).
  void zero_grad();
  // Adam's CPU step zeroes each gradient as it reads it (one write more in a pass that
  // reads and writes seven streams, where the memset was a pass of its own over all of
  // them: 95 MB an iteration at the paper's width); the next zero_grad then has nothing
  // to do. Any other write of the gradients in between must come after a zero_grad.
  void grads_zeroed_by_step() { grad_zero_ = true; }
  // Turns gradient tracking on or off for all parameters (off: D during the G step).
  void set_requires_grad(bool on);

  Tensor& flat() { return flat_; }            // (P) including alignment padding
  Tensor& flat_grad() { return flat_grad_; }  // (P)
  Tensor& flat_buffers() { return flat_buf_; }
  const std::vector<Tensor>& params() const { return params_; }
  const std::vector<Tensor>& buffers() const { return buffers_; }
  int64_t num_params() const { return n_params_; }  // without padding
  Device device() const { return device_; }
  DType dtype() const { return dtype_; }
  // Finds a parameter or buffer by name; undefined Tensor when absent.
  Tensor find(const std::string& name) const;

 private:
  std::vector<Tensor> params_, buffers_;
  Tensor flat_, flat_grad_, flat_buf_;
  int64_t n_params_ = 0, n_buffers_ = 0;
  bool finalized_ = false;
  bool grad_zero_ = false;  // the gradients are known to be zero (Adam zeroed them)
  Device device_ = Device::cpu;
  DType dtype_ = DType::f32;
};

}  // namespace cg
