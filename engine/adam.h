// Adam (Kingma & Ba 2015), bias-corrected exactly as torch.optim.Adam, over a
// ParamStore's flat parameter and gradient buffers in one pass (one kernel).
#pragma once
#include "engine/params.h"

namespace cg {

struct AdamConfig {
  double lr = 2e-4, beta1 = 0.5, beta2 = 0.999, eps = 1e-8;
};

class Adam {
 public:
  Adam(ParamStore& params, AdamConfig cfg);
  // params -= lr * mhat / (sqrt(vhat) + eps), using the flat gradient. With halt (i32 (1) on
  // the parameters' device: an iteration's non-finite guard) nothing changes while it is
  // set. On CUDA the step count also lives on the device and the bias corrections are
  // computed there, so a captured CUDA graph replays real steps with no host work.
  void step(const Tensor& halt = Tensor());
  // A step a CUDA graph replayed: the host's count follows the device's.
  void count_replayed_step() { ++t_; }
  AdamConfig& config() { return cfg_; }
  int64_t steps() const { return t_; }
  void set_steps(int64_t t);
  Tensor& m() { return m_; }  // first moments (P), saved in checkpoints
  Tensor& v() { return v_; }  // second moments (P)

 private:
  ParamStore& ps_;
  AdamConfig cfg_;
  Tensor m_, v_;
  Tensor t_dev_;  // i32 (1): the step count on CUDA
  int64_t t_ = 0;
};

}  // namespace cg
