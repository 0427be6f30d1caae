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
  void step();  // params -= lr * mhat / (sqrt(vhat) + eps), using the flat gradient
  AdamConfig& config() { return cfg_; }
  int64_t steps() const { return t_; }
  void set_steps(int64_t t) { t_ = t; }
  Tensor& m() { return m_; }  // first moments (P), saved in checkpoints
  Tensor& v() { return v_; }  // second moments (P)

 private:
  ParamStore& ps_;
  AdamConfig cfg_;
  Tensor m_, v_;
  int64_t t_ = 0;
};

}  // namespace cg
