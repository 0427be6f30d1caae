// Conversions between f32 and bf16 for bf16 mixed precision: a tape op (its gradient
// converts back: widened gradients add into f32, narrowed ones round), the plain
// conversion the convolutions apply to their FP32 master weights, and the activations'
// dtype the current precision (base/precision.h) asks for on a device.
#pragma once
#include "engine/tape.h"

namespace cg {

// x as dtype (f32 or bf16); x itself, nothing recorded, when it has that dtype already.
Tensor to_dtype(Tape* tape, const Tensor& x, DType dtype);
// x as dtype, a new tensor on x's device, not on any tape.
Tensor converted(const Tensor& x, DType dtype);
// bf16 on cuda under Precision::bf16; f32 otherwise (and always on the CPU).
DType activation_dtype(Device d);

}  // namespace cg
