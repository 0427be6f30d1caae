// Where an iteration's time goes: a synthetic training rig (models, Adam, one batch of
// random "real" images: the time does not depend on the pixels), the FLOP count of one
// iteration, and `covergan train --profile N`'s per-op table (base/profile.h).
#pragma once
#include <memory>
#include <string>

#include "gan/acgan.h"

namespace cg::gan {

// GEMM FLOPs (2*M*N*K of every convolution, transposed convolution and Linear, forward
// and backward) of one iteration as gan/acgan.cpp runs it, per image:
//   4*fG + 8*fD - 2*conv1 - fc - 2*code_head
// fG, fD: one forward of G and D; the real and the detached fake images need no input
// gradient in the D step (conv1's data gradient skipped twice), neither does z (fc's),
// and D's code head on the real batch feeds no loss (its backward is skipped).
double iteration_flops(const ModelConfig& m, int64_t batch);
// The two halves: D step fG + 6*fD - 2*conv1 - 2*code_head; G step 3*fG + 2*fD - fc (they sum to the above).
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
  StepStats step();  // new latents, then train_step (D step, Adam, G step, Adam)
};

// Runs one warm-up and then iters profiled iterations; prints the per-op table to stdout
// and writes it as CSV to csv_path when that is not empty.
void profile_training(const ModelConfig& m, int64_t batch, Device device, int64_t iters, const std::string& csv_path);

// `covergan train --dump-tape`: one iteration on random images; prints the D step's and
// the G step's tape records (op, named inputs/output with shapes, saved tensors, args).
void dump_training_tapes(const ModelConfig& m, int64_t batch, Device device);

}  // namespace cg::gan
