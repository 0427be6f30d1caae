// CPU loops for the pointwise activations, templated on float and double; the
// scalar math is kernels/common/activations.h. Same contract as kernels/cuda/activations.h.
#pragma once
#include <cstdint>

#include "kernels/common/activations.h"

namespace cg::cpu {

// out (n) = act(inp); slope is used by leaky_relu only.
template <class T>
void activation_forward(T* out, const T* inp, int64_t n, common::Activation act, T slope);

// dinp (n) += act'(.) * dout, from the forward's input inp and output out (n); with
// accumulate false, dinp = act'(.) * dout (a fresh buffer: no zero fill needed).
template <class T>
void activation_backward(T* dinp, const T* dout, const T* inp, const T* out, int64_t n, common::Activation act,
                         T slope, bool accumulate = true);

// The LeakyReLU passes of conv2d_leaky_relu where its convolution's kernels cannot apply
// it as they go: out = leaky_relu(inp) (in place allowed), or dz = dout * (a > 0 ? 1 :
// slope) from the output a. Bytes are counted, FLOPs not: a fused layer's FLOPs are its
// convolution's, whichever path runs (tests/gan/test_profile.cpp).
template <class T>
void leaky_relu_pass(T* out, const T* inp, int64_t n, T slope);
template <class T>
void leaky_relu_grad_pass(T* dz, const T* dout, const T* a, int64_t n, T slope);

}  // namespace cg::cpu
