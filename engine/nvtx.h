// NVTX ranges so Nsight shows the model's own op names. NVTX_RANGE_FN() opens a
// range named after the enclosing function for the rest of the scope; a no-op
// in builds without CUDA (NVTX v3 is header-only, so nothing to link).
#pragma once
#if COVERGAN_NVTX
#include <nvtx3/nvToolsExt.h>
namespace cg {
struct NvtxRange {
  explicit NvtxRange(const char* name) { nvtxRangePushA(name); }
  ~NvtxRange() { nvtxRangePop(); }
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
};
}  // namespace cg
#define CG_NVTX_CAT2(a, b) a##b
#define CG_NVTX_CAT(a, b) CG_NVTX_CAT2(a, b)
#define NVTX_RANGE(name) ::cg::NvtxRange CG_NVTX_CAT(nvtx_range_, __LINE__)(name)
#define NVTX_RANGE_FN() NVTX_RANGE(__func__)
#else
#define NVTX_RANGE(name) ((void)0)
#define NVTX_RANGE_FN() ((void)0)
#endif
