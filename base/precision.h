// The arithmetic of the CUDA backend, process-wide: strict IEEE FP32, TF32 tensor cores
// for convolutions and GEMMs, or bf16 mixed precision (bf16 activations and operands,
// FP32 master weights, Adam state, BatchNorm statistics and losses); and how cuDNN's
// convolution algorithms are chosen. The CPU always computes in FP32 (FP64 for checks).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace cg {

enum class Precision : uint8_t { fp32, tf32, bf16 };
const char* precision_name(Precision p);
// "fp32", "tf32" or "bf16"; anything else throws one sentence naming the choices.
Precision parse_precision(const std::string& s);

struct CudaMath {
  Precision precision = Precision::fp32;
  // true: cuDNN's heuristic order, deterministic algorithms first, nothing timed (a run
  // reproduces bit for bit); false: each convolution's algorithms timed once
  // (cudnnFind*AlgorithmEx) and the fastest kept.
  bool deterministic = false;
  size_t workspace_limit = size_t(1) << 30;  // bytes of scratch one convolution may use
  std::string algo_cache;  // a file of measured algorithms, read and extended ("": this process only)
};
CudaMath cuda_math();
void set_cuda_math(const CudaMath& m);

// Restores every CUDA math setting at the end of a scope (a training run, a test).
class CudaMathScope {
 public:
  CudaMathScope() : before_(cuda_math()) {}
  explicit CudaMathScope(const CudaMath& m) : before_(cuda_math()) { set_cuda_math(m); }
  ~CudaMathScope() { set_cuda_math(before_); }
  CudaMathScope(const CudaMathScope&) = delete;
  CudaMathScope& operator=(const CudaMathScope&) = delete;

 private:
  CudaMath before_;
};

// Sets the precision for a scope and restores the one before (tests, benchmark rows).
class PrecisionScope {
 public:
  explicit PrecisionScope(Precision p);
  ~PrecisionScope();
  PrecisionScope(const PrecisionScope&) = delete;
  PrecisionScope& operator=(const PrecisionScope&) = delete;

 private:
  Precision before_;
};

}  // namespace cg
