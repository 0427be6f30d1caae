// Where an iteration's time goes: a synthetic training rig (models, Adam, one batch of
// random "real" images: the time does not depend on the pixels), the FLOP count of one
// iteration, and `covergan train --profile N` (base/profile.h): the per-layer table,
// profile.csv, roofline.png and optionally a Chrome trace. The tape dumps of
// --dump-tape are in gan/tape_dump.h.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "base/profile.h"
#include "gan/acgan.h"

namespace cg::gan {

// GEMM FLOPs (2*M*N*K of every convolution, transposed convolution and Linear, forward
// and backward) of one iteration as gan/acgan.cpp runs it, per image:
//   3*fG + 8*fD - 2*conv1 - fc - 2*code_head
// fG, fD: one forward of G and D; G runs forward once (the G step backpropagates through
// the forward the D step read); the real and the detached fake images need no input
// gradient in the D step (conv1's data gradient skipped twice), neither does z (fc's),
// and D's code head on the real batch feeds no loss (its backward is skipped).
double iteration_flops(const ModelConfig& m, int64_t batch);
// The two halves as bench_iteration times them: G's forward and the D step, fG + 6*fD -
// 2*conv1 - 2*code_head; the G step on that forward, 2*fG + 2*fD - fc (they sum to the above).
double d_step_flops(const ModelConfig& m, int64_t batch);
double g_step_flops(const ModelConfig& m, int64_t batch);
double generator_forward_flops(const ModelConfig& m, int64_t batch);
double discriminator_forward_flops(const ModelConfig& m, int64_t batch);

// Everything one iteration needs, on one device, initialised from seed.
struct IterationRig {
  IterationRig(const ModelConfig& m, int64_t batch, Device device, uint64_t seed = 1);
  ModelConfig cfg;
  int64_t batch;
  Device device;
  Philox rng;
  std::unique_ptr<Generator> G;
  std::unique_ptr<Discriminator> D;
  std::unique_ptr<Adam> opt_g, opt_d;
  StepBatch b;
  LossConfig lc;
  StepStats step();  // new latents, then train_step (G forward, D step, Adam, G step, Adam)
  // lc = loss; G's spectral term, when weighted, compares with the rig's random real batch.
  void use_losses(const LossConfig& loss);
};

struct ProfileOptions {
  int64_t iters = 10;
  std::string dir = ".";   // where profile.csv and roofline.png go
  std::string csv_path;    // the CSV elsewhere ("" : dir/profile.csv)
  std::string trace_path;  // a Chrome trace of every scope and thread ("" : none)
  LossConfig loss;         // the run's loss settings (--g-spectral compares with the random real batch)
};
// Measures the device's ceilings, runs one warm-up and then o.iters profiled iterations;
// prints the per-layer table (layer and pass, shape, calls, ms, FLOPs, bytes, intensity,
// rates and % of each ceiling), then the phases and the kernels; writes profile.csv
// (with the provenance as leading '#' lines), roofline.png and the trace.
void profile_training(const ModelConfig& m, int64_t batch, Device device, const ProfileOptions& o);

// The label of a layer pass's point in roofline.png: its layer, and the batch when that
// pass has rows at two shapes in groups ("D.conv4 b16").
std::string roofline_label(const prof::Group& g, const std::vector<prof::Group>& groups);

}  // namespace cg::gan
