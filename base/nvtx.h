// NVTX ranges so Nsight Systems shows the model's own names, each also a scope of the
// in-program profiler (base/profile.h), so `covergan train --profile N` and Nsight agree:
//   NVTX_RANGE_FN() / NVTX_RANGE(name)  a kernel (every launcher), named after it
//   NVTX_SCOPE_FN() / NVTX_SCOPE(name)  a program phase (train_step, d_backward)
//   NVTX_LAYER(layer, pass[, source])   a layer's pass: the range reads "G.deconv1 forward"
//                                       (source: the forward entry a backward belongs to)
//   NVTX_PASS(pass)                     part of a layer's backward: "backward-weight"
// NVTX v3 is header-only: nothing to link. Names must outlive the scope; kernel and
// phase names must be string literals (the trace keeps the pointer).
#pragma once
#include <string>

#include "base/profile.h"
#if COVERGAN_NVTX
#include <nvtx3/nvToolsExt.h>
#endif
namespace cg {
struct NvtxRange {
  explicit NvtxRange(const char* name, prof::Kind kind = prof::Kind::kernel) : prof_(name, kind) {
#if COVERGAN_NVTX
    nvtxRangePushA(name);
#endif
  }
  ~NvtxRange() {
#if COVERGAN_NVTX
    nvtxRangePop();
#endif
  }
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;

 private:
  prof::Scope prof_;
};

// A layer's forward or backward: a range "<layer> <pass>" in Nsight, a (layer, pass)
// row in the profile, and the layer the tape stamps on the records made inside. A null
// layer (a record made outside any layer) opens nothing.
struct NvtxLayer {
  NvtxLayer(const char* layer, const char* pass, uint64_t source = 0)
      : on_(layer != nullptr), prof_(layer, prof::Kind::layer, pass, source) {
#if COVERGAN_NVTX
    if (on_) nvtxRangePushA((std::string(layer) + " " + pass).c_str());
#endif
  }
  ~NvtxLayer() {
#if COVERGAN_NVTX
    if (on_) nvtxRangePop();
#endif
  }
  NvtxLayer(const NvtxLayer&) = delete;
  NvtxLayer& operator=(const NvtxLayer&) = delete;

 private:
  bool on_;
  prof::Scope prof_;
};
}  // namespace cg
#define CG_NVTX_CAT2(a, b) a##b
#define CG_NVTX_CAT(a, b) CG_NVTX_CAT2(a, b)
#define NVTX_RANGE(name) ::cg::NvtxRange CG_NVTX_CAT(nvtx_range_, __LINE__)(name)
#define NVTX_RANGE_FN() NVTX_RANGE(__func__)
#define NVTX_SCOPE(name) ::cg::NvtxRange CG_NVTX_CAT(nvtx_scope_, __LINE__)(name, ::cg::prof::Kind::scope)
#define NVTX_SCOPE_FN() NVTX_SCOPE(__func__)
#define NVTX_LAYER(...) ::cg::NvtxLayer CG_NVTX_CAT(nvtx_layer_, __LINE__)(__VA_ARGS__)
#define NVTX_PASS(pass_name) ::cg::NvtxRange CG_NVTX_CAT(nvtx_pass_, __LINE__)(pass_name, ::cg::prof::Kind::pass)
