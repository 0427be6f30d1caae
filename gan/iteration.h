// Training iterations as a pipeline the host never waits inside: each iteration is device
// work only (gan/acgan.h enqueue_iteration) that fills a small statistics vector, copied
// behind it into a ring of host slots (pinned memory on CUDA), which the host reads a few
// iterations later. On CUDA the iteration is captured once as a CUDA graph, after one
// eager warm-up that measures the convolution algorithms and sizes every buffer, and
// replayed from then on; eager mode (--no-graph) runs the same functions every time and
// computes the same numbers.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/cuda_graph.h"
#include "engine/pinned.h"
#include "gan/acgan.h"

namespace cg::gan {

// How the iterations run: replayed as a CUDA graph, or eagerly, and why not a graph.
struct GraphChoice {
  bool graph = false;
  std::string why;  // "" with a graph; otherwise the reason, one phrase
};
// The graph needs CUDA, the request (not --no-graph), and no dropout in D: dropout's masks
// are keyed by host-side stream positions (kernel arguments), which a replayed graph would
// repeat every iteration, so a run with d_dropout > 0 steps eagerly.
GraphChoice choose_graph(bool requested, Device device, double d_dropout);
// For the start-up line and config.json: "CUDA graph" or "eager (<why>)".
std::string describe(const GraphChoice& c);

struct RunnerOptions {
  bool graph = true;  // capture and replay on CUDA (ignored on the CPU)
  int ring = 8;       // iterations that may be in flight before the host must read one
};

class IterationRunner {
 public:
  // The latent stream (seed, offset) the iterations draw from, advancing by latent_words
  // per iteration. lc, the models and the optimisers are fixed for the runner's life (a
  // captured graph holds their buffers): make a new runner for a new phase.
  IterationRunner(Generator& G, Discriminator& D, Adam& opt_g, Adam& opt_d, const LossConfig& lc, int64_t batch,
                  uint64_t latent_seed, uint64_t latent_offset, RunnerOptions opt = {});
  ~IterationRunner();
  IterationRunner(const IterationRunner&) = delete;
  IterationRunner& operator=(const IterationRunner&) = delete;

  // The real batch of the next iteration: write it into these (the data loader fills them in
  // place) before step(). (B,3,S,S) f32 and i32 (B) on the models' device.
  Tensor& real() { return batch_.real; }
  Tensor& real_labels() { return batch_.real_labels; }

  // Enqueues one iteration. The ring must not be full (read with next_stats first).
  void step();
  bool full() const { return enqueued_ - completed_ >= int64_t(ring_.size()); }
  // The statistics of the oldest unread iteration, in order: false when none is waiting or
  // (without wait) its copy has not landed yet.
  bool next_stats(StepStats* out, bool wait);
  int64_t enqueued() const { return enqueued_; }
  int64_t completed() const { return completed_; }
  // The latent stream's offset after every enqueued iteration (what a checkpoint stores).
  uint64_t latent_offset() const { return offset_; }
  bool graph_captured() const { return graph_.ready(); }
  const IterationState& state() const { return state_; }
  // The latents and dropout key of the latest iteration (its buffers the graph's, when one runs).
  const StepBatch& batch() const { return batch_; }

 private:
  Generator& G_;
  Discriminator& D_;
  Adam &opt_g_, &opt_d_;
  LossConfig lc_;
  int64_t batch_size_;
  StepBatch batch_;
  IterationState state_;
  RunnerOptions opt_;
  CudaGraph graph_;
  std::vector<PinnedBuffer> ring_;
  int64_t enqueued_ = 0, completed_ = 0, eager_runs_ = 0;
  uint64_t offset_ = 0;
  bool use_graph() const;
};

}  // namespace cg::gan
