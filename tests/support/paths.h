// Where the tests find what lies outside their binary: the source tree (the PyTorch
// peer), the folder holding the `covergan` binary, and a Python that imports torch.
// Each comes from the environment first, so a carried bundle (scripts/gpu-check
// --bundle) runs on a machine whose paths differ from the build machine's.
#pragma once
#include <string>

namespace cgtest {

// $COVERGAN_SOURCE_DIR, else the source folder this binary was built from.
std::string source_dir();
// $COVERGAN_BINARY_DIR, else the folder of this test binary when it holds `covergan`
// (a build folder or a bundle's bin/), else the build folder this binary was built in.
std::string binary_dir();

struct Python {
  std::string path;    // "" when none found
  std::string reason;  // why not, in one sentence
};
// A python3 that imports torch and numpy: $COVERGAN_PYTHON when set (and then it must
// work), else `python3` on PATH. Never a hard-coded path.
const Python& python_with_torch();

// A python3 that imports every module of a comma list ("numpy, scipy"): $COVERGAN_PYTHON
// when set (and then it must work), else the first python3 along PATH that does.
const Python& python_with(const std::string& modules);
// A python3 that imports PIL (Pillow), for the scripts that draw images: $COVERGAN_PYTHON
// when it has Pillow, else the first `python3` on PATH that does. Never a hard-coded path.
const Python& python_with_pillow();

// Whether a test may skip (rather than fail) for want of torch: only when the run says
// so with COVERGAN_TORCH_OPTIONAL=1 (scripts/gpu-check on a machine without torch).
// CI installs python3-torch (scripts/deps.sh), so there a missing torch is a failure.
bool torch_optional();

// Quotes a path for /bin/sh.
std::string shell_quote(const std::string& s);

struct ShellResult {
  int exit_code = -1;  // 128 + the signal when one ended it; -1 when it could not start
  std::string output;  // its stdout (end the command with 2>&1 for stderr too)
};
// Runs cmd with /bin/sh, collecting its output: the one popen loop of the test binaries.
ShellResult run_shell(const std::string& cmd);

}  // namespace cgtest
