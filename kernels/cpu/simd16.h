// 16-lane float vectors in GCC's vector extensions, for the CPU kernels written with them
// (the k4s2 register tile, the narrow linear layers): unaligned loads and stores, and a
// way to keep a loaded vector in a register.
#pragma once
#include <cstdint>
#include <cstring>

// Without AVX-512 (a portable build) the 64-byte vectors pass between the kernels' file-
// local functions in memory: a different ABI than with it, which nothing outside them sees.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace cg::cpu::simd16 {

using v16f = float __attribute__((vector_size(64)));
using v16i = int32_t __attribute__((vector_size(64)));

constexpr int kLanes = 16;

inline v16f loadu(const float* p) {
  v16f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline v16i loadu(const int32_t* p) {
  v16i v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void storeu(float* p, v16f v) { std::memcpy(p, &v, sizeof v); }

// v, which the compiler must now hold in a register. Without it GCC folds a loaded vector
// into each multiply-add that uses it as a memory operand, loading it again every time:
// a 4x4 tile (4 vectors loaded, each used 4 times) ran at 40 % of the core's peak that
// way, 90 % with it.
inline v16f in_register(v16f v) {
#if defined(__AVX512F__)
  asm("" : "+v"(v));
#endif
  return v;
}

// LeakyReLU's input gradient from its output a, lane by lane: dy where a > 0, slope * dy
// elsewhere (kernels/common/activations.h's leaky_relu_bwd_from_out, the same bits).
inline v16f leaky_grad(v16f dy, v16f a, float slope) {
  const v16f neg = slope * dy;
  return a > 0 ? dy : neg;
}

}  // namespace cg::cpu::simd16
