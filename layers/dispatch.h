// Small helpers the layers share to dispatch on dtype and device and to pass
// optional tensors (an undefined bias) to kernels as null pointers.
#pragma once
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
// The gradient buffer of input i of a record, or null when that input needs none.
#define CG_GRAD_PTR(T, rec, i) ((rec).needs_grad(i) ? (rec).grad_of(i).template data<T>() : nullptr)

// Calls fn.template operator()<float>() or <double>() by the tensor's dtype.
template <class Fn>
decltype(auto) dispatch_float(const char* op, const Tensor& t, Fn&& fn) {
  if (t.dtype() == DType::f64) return fn.template operator()<double>();
  CG_CHECK(t.dtype() == DType::f32, op, ": needs f32 or f64, got ", t.describe());
  return fn.template operator()<float>();
}

[[noreturn]] inline void no_cuda_backend(const char* op) {
  CG_FAIL(op, ": a tensor is on cuda but this build has no CUDA backend");
}

}  // namespace cg
