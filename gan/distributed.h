// Data-parallel training (docs/DISTRIBUTED.md): what the trainer does differently when
// an MPI launcher (mpirun, srun) started several ranks. Every rank holds the whole model;
// each takes a disjoint slice of every global batch (rows [r*B/N, (r+1)*B/N) of the batch
// one process would draw, in the same seeded order), and D's and G's flat gradients are
// averaged over the ranks before each Adam step (one all-reduce per network step), so
// the ranks take the steps one process with the global batch takes. In a world of one
// every function here is the single-process path unchanged.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "engine/comm.h"
#include "gan/acgan.h"
#include "gan/checkpoint.h"

namespace cg::gan {

// Rows [first, second) of a global batch of B that rank `rank` of `ranks` trains on; one
// sentence unless the ranks split B evenly with at least 2 images each.
std::pair<int, int> batch_slice(int B, int rank, int ranks);

// The training stream's draw (gan::draw_latents on an IterationState at rng's seed and
// offset, the layout a single-process run draws on the device) for the whole global batch
// of B, keeping rows [lo, hi) in b on dev, in dt; rng advances as in one process.
void draw_latent_rows(Philox& rng, const ModelConfig& cfg, int64_t B, int64_t lo, int64_t hi, Device dev, DType dt,
                      StepBatch& b);

class DataParallel {
 public:
  DataParallel();  // over Comm::world() (which starts MPI under a launcher)
  Comm& comm() const { return comm_; }
  bool distributed() const { return comm_.distributed(); }
  bool root() const { return comm_.root(); }

  // This rank's rows [first, second) of a global batch of B; one sentence unless the
  // ranks split B evenly.
  std::pair<int, int> slice(int B) const;

  // The latents of the whole global batch of B from rng (the stream advances as in one
  // process, so N ranks draw what one would), keeping this rank's rows in b.
  void draw_latents(Philox& rng, const ModelConfig& cfg, int64_t B, Device dev, DType dt, StepBatch& b) const;

  // One iteration as gan::train_step, averaged over the ranks: D's loss terms and its
  // gradients after its backward, then Adam on D; the same for G. Loss terms and the
  // statistics are the global batch's (the mean of the ranks'); a non-finite one throws
  // NonFiniteLoss on every rank before the update. sync_bn: batch norm over the global
  // batch (layers/batchnorm2d_sync.h). *stop in: this rank was asked to stop (a signal);
  // out: some rank was, so that all stop after the same step.
  StepStats train_step(Generator& G, Discriminator& D, Adam& opt_g, Adam& opt_d, const StepBatch& b,
                       const LossConfig& lc, bool sync_bn, bool* stop);

  // Before a checkpoint: per-rank batch-norm running statistics (without --sync-bn they
  // differ) become their mean over the ranks on every rank, and the weights and Adam
  // moments are compared (AgreedError if a rank's differ: the all-reduce went wrong).
  void settle_for_checkpoint(Generator& G, Discriminator& D, Adam& opt_g, Adam& opt_d, bool sync_bn);

  // Start-up check: every rank's (what, value) pairs must equal rank 0's; otherwise every
  // rank throws AgreedError naming the first rank and item that differ.
  void check_same(const std::vector<std::pair<std::string, std::string>>& items);

  // The checkpoint at path (a path on rank 0): rank 0 reads the file and broadcasts its
  // bytes, so only rank 0 needs the run folder.
  Checkpoint load_checkpoint(const std::string& path);

  // "2 ranks on 1 node (2 per node), 1 OpenMP thread each, MPI over shared memory".
  std::string summary(Device d) const;

 private:
  Comm& comm_;
};

// The settings every rank must share, as JSON: the resolved configuration without the
// paths (each node may keep its copy of the data elsewhere; the contents are compared).
std::string shared_settings(const TrainConfig& cfg, Device device);

// `covergan train --profile N` under a launcher: each rank times N data-parallel
// iterations on its slice of a global batch of random images; rank 0 prints the per-op
// table, whose "allreduce ..." rows are the communication's share.
void profile_distributed(const ModelConfig& m, int64_t batch, Device device, int64_t iters, bool sync_bn,
                         const std::string& csv_path);

}  // namespace cg::gan
