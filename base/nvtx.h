// NVTX ranges so Nsight shows the model's own op names. NVTX_RANGE_FN() opens a
// range named after the enclosing function for the rest of the scope. Each range is
// also a scope of the in-program profiler (base/profile.h), so `covergan train
// --profile N` and Nsight use the same names. NVTX v3 is header-only: nothing to link.
#pragma once
#include "base/profile.h"
#if COVERGAN_NVTX
#include <nvtx3/nvToolsExt.h>
#endif
namespace cg {
struct NvtxRange {
  explicit NvtxRange(const char* name) : prof_(name) {
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
}  // namespace cg
#define CG_NVTX_CAT2(a, b) a##b
#define CG_NVTX_CAT(a, b) CG_NVTX_CAT2(a, b)
#define NVTX_RANGE(name) ::cg::NvtxRange CG_NVTX_CAT(nvtx_range_, __LINE__)(name)
#define NVTX_RANGE_FN() NVTX_RANGE(__func__)
