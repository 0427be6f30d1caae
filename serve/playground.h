// The generator playground's engine side. One worker thread owns the loaded
// generators (the few most recently used checkpoints) and makes covers on
// request, one request at a time, with BatchNorm in eval mode (running
// statistics), so a cover depends on its own latent vector alone: the same
// genre, codes and noise seed give the same cover alone, in a sweep or in a strip.
// The queue is bounded: past it a request is turned away at once (503) instead of
// stalling everyone behind it.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/device.h"
#include "gan/config.h"
#include "gan/generator.h"

namespace cg::serve {

// What a playground request asks for. The noise of a cover is drawn from a Philox
// stream seeded with seed (as `covergan generate --seed S --n 1` draws it), then the
// codes are set; a sweep shows that one latent point in every genre; a strip walks
// from it to the noise of seed_to, or along one code from -1 to 1.
struct CoverJob {
  enum class Kind { cover, sweep, strip };
  Kind kind = Kind::cover;
  std::string checkpoint;     // absolute path of the checkpoint file
  std::string genre = "0";    // index or name (not for a sweep)
  std::vector<double> codes;  // empty: all 0; else one value per latent code
  uint64_t seed = 0, seed_to = 1;
  std::string along = "noise";  // strip: noise, code1 or code2
  int steps = 8;                // strip: covers along the way, 2..16
  int scale = 1;                // each pixel scale x scale, 1..8
};

struct CoverResult {
  std::string png;
  int64_t step = 0;       // the checkpoint's training step
  double forward_ms = 0;  // the generator's forward pass alone
  double total_ms = 0;    // on the worker: model lookup, forward, PNG
  bool loaded = false;    // the checkpoint was read from disk for this request
};

class Playground {
 public:
  // max_pending: requests waiting or running before more are refused; max_models:
  // generators kept in memory.
  Playground(Device device, size_t max_pending = 16, size_t max_models = 3);
  ~Playground();
  Playground(const Playground&) = delete;
  Playground& operator=(const Playground&) = delete;

  // Runs job on the worker and waits. Throws HttpError: 503 when max_pending requests
  // are already waiting or the server is stopping, 400 for a genre or codes the
  // checkpoint does not have, 404 for a checkpoint that is gone, 500 for one that
  // does not load.
  CoverResult make(const CoverJob& job);

  // For tests: runs fn on the worker (as a job) and waits; lets a test hold the worker busy.
  void run_on_worker(std::function<void()> fn);
  size_t pending() const;

 private:
  struct Model;
  struct Task;
  void loop();
  void submit(std::shared_ptr<Task> t);
  Model& model_for(const std::string& path, bool& loaded);
  CoverResult run_job(const CoverJob& job);

  Device device_;
  size_t max_pending_, max_models_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Task>> queue_;
  size_t running_ = 0;
  bool stopping_ = false;
  std::list<std::unique_ptr<Model>> models_;  // most recently used first (worker thread only)
  std::thread worker_;
};

}  // namespace cg::serve
