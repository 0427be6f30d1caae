// BatchNorm2d over (N,H,W) per channel, as PyTorch: training mode normalises with
// the batch statistics (biased variance) and updates the running statistics with
// momentum (unbiased variance); eval mode uses the running statistics.
#pragma once
#include <string>

#include "engine/params.h"
#include "engine/tape.h"

namespace cg {

// x (N,C,H,W) -> (N,C,H,W). Also accepts (N,C) (treated as H=W=1).
// running_mean/var (C) are updated in place when training (they get no gradient).
Tensor batch_norm2d(Tape* tape, const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor running_mean,
                    Tensor running_var, bool training, double momentum = 0.1, double eps = 1e-5);

// batch_norm2d followed by LeakyReLU(slope) (slope 0: ReLU) as one fused op: one pass
// forward, one backward (the activation's derivative read from the output), and no
// tensor in between. Same values as relu/leaky_relu(batch_norm2d(...)); slope >= 0.
// groups > 1 in training: the batch is that many equal groups normalised apart (D's real
// and generated images), the same values, gradients and running statistics as one call
// per group in order.
Tensor batch_norm2d_act(Tape* tape, const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor running_mean,
                        Tensor running_var, bool training, double momentum, double eps, double slope,
                        int groups = 1);

struct BatchNorm2d {
  std::string name;                  // "G.bn1": the profile's and Nsight's layer name
  Tensor weight, bias;               // gamma, beta (C): trainable
  Tensor running_mean, running_var;  // (C): buffers
  double momentum = 0.1, eps = 1e-5;
  BatchNorm2d() = default;
  BatchNorm2d(ParamStore& ps, const std::string& name, int64_t channels);
  // batch_norm2d inside the layer's scope.
  Tensor forward(Tape* tape, const Tensor& x, bool training) const;
  // The layer then LeakyReLU(slope) (0: ReLU), fused: see batch_norm2d_act. Without
  // running statistics (sampling with batch statistics) they are neither read nor updated.
  Tensor forward_act(Tape* tape, const Tensor& x, bool training, double slope, bool running = true,
                     int groups = 1) const;
  // gamma 1, beta 0, running mean 0, running var 1 (call after ParamStore::finalize).
  void reset() const;
};

}  // namespace cg
