// The fully connected layer in float where it has at most 8 outputs (D's three heads):
// BLAS, handed one- to five-column products, ran them at a fifth of the memory bandwidth
// (linear_narrow.cpp). linear.cpp hands such layers here.
#pragma once
#include <cstdint>

namespace cg::cpu {

constexpr int64_t kNarrowMaxOut = 8;

// out (B,OC) = inp (B,C) @ weight (OC,C)^T + bias (OC, may be null); OC <= kNarrowMaxOut.
void linear_forward_narrow(float* out, const float* inp, const float* weight, const float* bias, int64_t B,
                           int64_t C, int64_t OC);

// dinp (B,C) += dout (B,OC) @ weight (OC,C); OC <= kNarrowMaxOut.
void linear_backward_data_narrow(float* dinp, const float* dout, const float* weight, int64_t B, int64_t C,
                                 int64_t OC);

// dweight (OC,C) += dout (B,OC)^T @ inp (B,C); OC <= kNarrowMaxOut.
void linear_backward_weight_narrow(float* dweight, const float* dout, const float* inp, int64_t B, int64_t C,
                                   int64_t OC);

}  // namespace cg::cpu
