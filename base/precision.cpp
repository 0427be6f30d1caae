// The CUDA backend's arithmetic settings (see precision.h): one process-wide value
// behind a mutex, read by the convolution and GEMM launchers at each call.
#include "base/precision.h"

#include <mutex>

#include "base/check.h"

namespace cg {

namespace {
std::mutex g_mu;
CudaMath& settings() {
  static CudaMath m;
  return m;
}
}  // namespace

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::fp32: return "fp32";
    case Precision::tf32: return "tf32";
    case Precision::bf16: return "bf16";
  }
  return "?";
}

Precision parse_precision(const std::string& s) {
  if (s == "fp32") return Precision::fp32;
  if (s == "tf32") return Precision::tf32;
  if (s == "bf16") return Precision::bf16;
  throw Error("The precision must be fp32 (strict IEEE), tf32 (tensor cores for convolutions and GEMMs) or "
              "bf16 (mixed precision), got \"" + s + "\".");
}

CudaMath cuda_math() {
  std::lock_guard<std::mutex> lock(g_mu);
  return settings();
}

void set_cuda_math(const CudaMath& m) {
  std::lock_guard<std::mutex> lock(g_mu);
  settings() = m;
}

PrecisionScope::PrecisionScope(Precision p) : before_(cuda_math().precision) {
  CudaMath m = cuda_math();
  m.precision = p;
  set_cuda_math(m);
}

PrecisionScope::~PrecisionScope() {
  CudaMath m = cuda_math();
  m.precision = before_;
  set_cuda_math(m);
}

}  // namespace cg
