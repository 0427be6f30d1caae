// A CUDA graph of the work queued on the engine stream between capture_begin() and
// capture_end(), replayed with launch(). While it is captured the caching allocator serves
// it from a pool of its own (engine/device_cuda.cu), kept until the graph is destroyed, so
// the buffers whose addresses it replays are never lent to other work. Capturing runs no
// kernel: the captured work happens at the first launch(). In a build without CUDA every
// call fails with one sentence.
#pragma once
#include <utility>

#include "base/check.h"
#include "engine/device_cuda.h"

namespace cg {

class CudaGraph {
 public:
  CudaGraph() = default;
  ~CudaGraph() { reset(); }
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  void capture_begin() {
    CG_CHECK(!capturing_ && !exec_, "CudaGraph: captured twice");
    if constexpr (kCudaBuilt) pool_ = cuda_graph_capture_begin();
    else CG_FAIL("CUDA graphs need a build with the CUDA backend");
    capturing_ = true;
  }
  // Ends the capture and instantiates the graph (throws one sentence when capture failed).
  void capture_end() {
    CG_CHECK(capturing_, "CudaGraph: capture_end without capture_begin");
    capturing_ = false;
    if constexpr (kCudaBuilt) cuda_graph_capture_end(&graph_, &exec_);
  }
  // After an exception between begin and end: ends the capture, drops what it held.
  void abandon() {
    if (capturing_) {
      capturing_ = false;
      try {
        if constexpr (kCudaBuilt) cuda_graph_capture_end(&graph_, &exec_);
      } catch (const Error&) {
      }
    }
    reset();
  }
  void launch() {
    CG_CHECK(exec_, "CudaGraph: launch before a successful capture");
    if constexpr (kCudaBuilt) cuda_graph_launch(exec_);
  }
  bool ready() const { return exec_ != nullptr; }

 private:
  void* graph_ = nullptr;
  void* exec_ = nullptr;
  int pool_ = 0;
  bool capturing_ = false;
  void reset() {
    if (graph_ || exec_ || pool_) {
      if constexpr (kCudaBuilt) cuda_graph_destroy(graph_, exec_, pool_);
    }
    graph_ = exec_ = nullptr;
    pool_ = 0;
  }
};

}  // namespace cg
