// Runtime skipping for tests that need what this machine lacks (a GPU, a Python with
// torch in a carried bundle). A test calls CG_SKIP_WITHOUT_CUDA() or CG_SKIP(reason);
// it prints "[skipped] <case>: <reason>" and returns. The binary exits 77 (ctest:
// "Skipped") only when every case it ran skipped itself; see doctest_main.cpp.
#pragma once
#include <string>

#include "engine/device.h"

namespace cgtest {
// Marks the running test case as skipped and prints why (once per case).
void note_skipped(const std::string& reason);
// Test cases of this run that skipped themselves so far.
int skipped_count();
}  // namespace cgtest

#define CG_SKIP(reason)                         \
  do {                                          \
    ::cgtest::note_skipped(reason);             \
    return;                                     \
  } while (0)

#define CG_SKIP_WITHOUT_CUDA()                                               \
  do {                                                                       \
    if (!::cg::cuda_available()) CG_SKIP("no CUDA GPU on this machine");     \
  } while (0)
