// The fully connected layer in float where the inputs are few and the outputs many (G's
// projection of the latent code: 100 inputs, 4096 and more outputs): BLAS, handed it in
// blocks of columns, ran it at a third of the FMA peak (linear_short.cpp). linear.cpp
// hands such layers here on CPUs with AVX-512, where the register tile it uses runs.
#pragma once
#include <cstdint>

namespace cg::cpu {

// Whether the short-input kernels below take a layer of C inputs and OC outputs: at most
// 256 inputs, outputs in whole 64-column blocks, and an AVX-512 build.
bool linear_short_applies(int64_t C, int64_t OC);

// out (B,OC) = inp (B,C) @ weight (OC,C)^T + bias (OC, may be null).
void linear_forward_short(float* out, const float* inp, const float* weight, const float* bias, int64_t B,
                          int64_t C, int64_t OC);

// dweight (OC,C) += dout (B,OC)^T @ inp (B,C), under the same conditions.
void linear_backward_weight_short(float* dweight, const float* dout, const float* inp, int64_t B, int64_t C,
                                  int64_t OC);

}  // namespace cg::cpu
