// Device and dtype dispatch for the engine and the layers, in one place: CG_KERNEL runs
// the CPU kernel (a template over float/double) or the CUDA launcher (float, same
// argument list) by the tensor's device; on_cuda runs a CUDA-only branch. No other file
// outside the CUDA sources needs to know whether this build has CUDA (kCudaBuilt).
#pragma once
#include <type_traits>

#include "engine/tensor.h"

namespace cg {

template <class T>
T* ptr_or_null(Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}
template <class T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}
// The gradient buffer of a record's input (by name or index), or null when it needs none.
#define CG_GRAD_PTR(T, rec, i) ((rec).needs_grad(i) ? (rec).grad_of(i).template data<T>() : nullptr)

// Calls fn.template operator()<float>() or <double>() by the tensor's dtype.
template <class Fn>
decltype(auto) dispatch_float(const char* op, const Tensor& t, Fn&& fn) {
  if (t.dtype() == DType::f64) return fn.template operator()<double>();
  CG_CHECK(t.dtype() == DType::f32, op, ": needs f32 or f64, got ", t.describe());
  return fn.template operator()<float>();
}

// Runs cpu<T>() for a host tensor (T by its dtype) or cuda<float>() for a device one.
// In a CPU-only build the cuda branch is discarded, so the launchers it names are
// declared (kernels/cuda/*.h are plain C++) but never referenced at link time.
template <class Cpu, class Cuda>
void on_device(const char* op, const Tensor& t, Cpu&& cpu, Cuda&& cuda) {
  if (!t.is_cuda()) {
    dispatch_float(op, t, cpu);
    return;
  }
  on_cuda(op, t, cuda);
}

// Runs cuda.template operator()<float>() (a generic lambda, `[&]<class>() { ... }`) for a
// tensor on cuda. In a CPU-only build the lambda's body is never instantiated, so the
// launchers it names need no definition, and the call fails with one sentence instead.
template <class Cuda>
void on_cuda(const char* op, const Tensor& t, Cuda&& cuda) {
  if constexpr (kCudaBuilt) {
    cuda.template operator()<float>();
  } else {
    (void)cuda;
    CG_FAIL(op, ": ", t.describe(), " is on cuda but this build has no CUDA backend");
  }
}

// CG_KERNEL(op, t, kernel, args...): cpu::kernel<T>(args...) or cuda::kernel(args...)
// by t's device; the args may name T (out.data<T>(), T(slope)), which is float on cuda.
#define CG_KERNEL(op, t, kernel, ...)                                      \
  ::cg::on_device(                                                         \
      op, t, [&]<class T>() { ::cg::cpu::kernel<T>(__VA_ARGS__); },        \
      [&]<class T>() { ::cg::cuda::kernel(__VA_ARGS__); })

// CG_KERNEL_INTO_GRAD(op, t, fresh, kernel, args...): CG_KERNEL with a trailing
// accumulate = !fresh, so that a gradient buffer just made by Record::grad_for_write is
// assigned (no zero fill, no read of zeros) and an existing one is added to, on both devices.
#define CG_KERNEL_INTO_GRAD(op, t, fresh, kernel, ...) CG_KERNEL(op, t, kernel, __VA_ARGS__, !(fresh))

// The element type of an op's parameters and statistics when its activations are T:
// T itself, except f32 under bf16 activations (FP32 master weights, BatchNorm statistics).
template <class T>
using param_t = std::conditional_t<std::is_same_v<T, bf16>, float, T>;

// As on_device, with bf16 tensors allowed on cuda (the lambda then runs with T = bf16): for
// the ops that have a bf16 launcher. A bf16 tensor on the CPU is refused in one sentence.
template <class Cpu, class Cuda>
void on_device_lowp(const char* op, const Tensor& t, Cpu&& cpu, Cuda&& cuda) {
  if (t.dtype() != DType::bf16) return on_device(op, t, cpu, cuda);
  CG_CHECK(t.is_cuda(), op, ": ", t.describe(), ": bf16 math runs on CUDA only (the CPU computes in f32)");
  if constexpr (kCudaBuilt) {
    cuda.template operator()<bf16>();
  } else {
    (void)cuda;
    CG_FAIL(op, ": ", t.describe(), " is on cuda but this build has no CUDA backend");
  }
}

// CG_KERNEL_LOWP / CG_KERNEL_LOWP_INTO_GRAD: CG_KERNEL / CG_KERNEL_INTO_GRAD through
// on_device_lowp; scalar arguments must not be written T(...) (T may be bf16).
#define CG_KERNEL_LOWP(op, t, kernel, ...)                                 \
  ::cg::on_device_lowp(                                                    \
      op, t, [&]<class T>() { ::cg::cpu::kernel<T>(__VA_ARGS__); },        \
      [&]<class T>() { ::cg::cuda::kernel(__VA_ARGS__); })
#define CG_KERNEL_LOWP_INTO_GRAD(op, t, fresh, kernel, ...) CG_KERNEL_LOWP(op, t, kernel, __VA_ARGS__, !(fresh))

}  // namespace cg
