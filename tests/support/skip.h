// Runtime skipping for tests that need hardware this machine lacks. A test calls
// CG_SKIP_WITHOUT_CUDA() first; without a GPU it prints why and returns, and the
// binary's exit code (77) makes ctest report the test as skipped, never passed.
#pragma once
#include <cstdio>

#include "engine/device.h"

namespace cgtest {
int& skipped_counter();
bool& ran_unskipped_flag();
inline int skipped_count() { return skipped_counter(); }
inline bool ran_unskipped() { return ran_unskipped_flag(); }
}  // namespace cgtest

#define CG_SKIP_WITHOUT_CUDA()                                                        \
  do {                                                                                \
    if (!::cg::cuda_available()) {                                                    \
      std::printf("[skipped] %s: no CUDA GPU on this machine\n", __func__);           \
      ++::cgtest::skipped_counter();                                                  \
      return;                                                                         \
    }                                                                                 \
    ::cgtest::ran_unskipped_flag() = true;                                            \
  } while (0)
