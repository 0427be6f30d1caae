// An exponential moving average of a model's weights (Polyak averaging as GANs use it:
// sample from the average, train the live weights): one pass over the flat parameter
// and buffer storage of a ParamStore, as Adam is one pass.
#pragma once
#include "engine/params.h"

namespace cg {

// The decay used for the update after `updates` earlier ones: min(decay, (1+t)/(10+t)),
// so the first updates follow the weights closely and the starting point is forgotten.
double ema_decay_at(double decay, int64_t updates);
// The first update whose decay is `decay` itself, the warm-up over: 8990 for 0.999, so a
// 3000-step run never reaches 0.999 (it ends at 0.9970) and any decay above that gives
// the same average there. Training prints it when the run is shorter.
int64_t ema_warmup_updates(double decay);
// avg += (1 - decay) * (w - avg), elementwise; same shape, dtype and device.
void ema_update(Tensor& avg, const Tensor& w, double decay);
// The same over every parameter and buffer (BatchNorm running statistics) of two stores
// of one layout (the same model declared twice).
void ema_update(ParamStore& avg, ParamStore& src, double decay);

}  // namespace cg
