// The iteration pipeline (see iteration.h): eager warm-up, capture, replays, and the ring
// of statistics slots behind them.
#include "gan/iteration.h"

#include <cstring>

#include "base/nvtx.h"
#include "kernels/cpu/threads.h"

namespace cg::gan {

IterationRunner::IterationRunner(Generator& G, Discriminator& D, Adam& opt_g, Adam& opt_d, const LossConfig& lc,
                                 int64_t batch, uint64_t latent_seed, uint64_t latent_offset, RunnerOptions opt)
    : G_(G), D_(D), opt_g_(opt_g), opt_d_(opt_d), lc_(lc), batch_size_(batch), opt_(opt), offset_(latent_offset) {
  CG_CHECK(batch > 0 && opt.ring >= 1, "IterationRunner: batch ", batch, " and ring ", opt.ring, " must be positive");
  const Device dev = G.params().device();
  CG_CHECK(D.params().device() == dev, "IterationRunner: G and D on different devices");
  const int64_t S = G.config().image_size;
  batch_.real = Tensor::zeros(Shape{batch, 3, S, S}, DType::f32, dev);
  batch_.real_labels = Tensor::zeros(Shape{batch}, DType::i32, dev);
  state_ = IterationState(dev, latent_seed, latent_offset);
  ring_.reserve(size_t(opt.ring));
  for (int i = 0; i < opt.ring; ++i) ring_.emplace_back(sizeof(float) * common::kStatSlots);
}

IterationRunner::~IterationRunner() {
  for (PinnedBuffer& b : ring_) {
    try {
      b.wait();
    } catch (...) {
    }
  }
}

GraphChoice choose_graph(bool requested, Device device, double d_dropout) {
  if (device != Device::cuda) return {false, "the CPU has no CUDA graph"};
  if (!requested) return {false, "--no-graph"};
  if (d_dropout > 0) return {false, "D's dropout draws new masks every iteration, which a replayed CUDA graph cannot"};
  return {true, ""};
}

std::string describe(const GraphChoice& c) { return c.graph ? "CUDA graph" : "eager (" + c.why + ")"; }

bool IterationRunner::use_graph() const {
  return choose_graph(opt_.graph, G_.params().device(), G_.config().d_dropout).graph;
}

void IterationRunner::step() {
  NVTX_RANGE("iteration");
  CG_CHECK(!full(), "IterationRunner::step: the statistics ring is full; read with next_stats first");
  check_shape("IterationRunner", "real batch", batch_.real, Shape{batch_size_, 3, G_.config().image_size, G_.config().image_size});
  // As train_step does: the CPU pool shares finer while other programs keep CPUs busy (a
  // thread beside a busy program is paused now and then while it holds a chunk).
  if (G_.params().device() == Device::cpu) cpu::adapt_threads();
  const uint64_t words = latent_words(G_.config(), batch_size_);
  if (!use_graph() || eager_runs_ < 1) {
    batch_.dropout_key = dropout_key(state_.seed, offset_ + words);  // where this iteration's draw leaves the stream
    // Eager: the first iteration of a graph run too, which measures the convolution
    // algorithms and grows the allocator and scratch buffers before anything is captured.
    enqueue_iteration(G_, D_, opt_g_, opt_d_, batch_, lc_, state_);
    ++eager_runs_;
  } else {
    if (!graph_.ready()) {
      graph_.capture_begin();
      try {
        enqueue_iteration(G_, D_, opt_g_, opt_d_, batch_, lc_, state_);  // recorded, not run
        graph_.capture_end();
      } catch (...) {
        graph_.abandon();
        throw;
      }
    } else {
      opt_d_.count_replayed_step();
      opt_g_.count_replayed_step();
    }
    graph_.launch();
  }
  ring_[size_t(enqueued_ % int64_t(ring_.size()))].download(state_.stats);
  ++enqueued_;
  offset_ += words;
}

bool IterationRunner::next_stats(StepStats* out, bool wait) {
  if (completed_ == enqueued_) return false;
  PinnedBuffer& slot = ring_[size_t(completed_ % int64_t(ring_.size()))];
  if (!wait && !slot.ready()) return false;
  slot.wait();
  *out = stats_from(slot.as<float>());
  ++completed_;
  return true;
}

}  // namespace cg::gan
