// Device helpers shared by our per-channel kernels (batch norm, bias gradients): a
// deterministic block-wide sum of two values (fixed butterfly order, no atomics, so a
// run repeats bit for bit and a captured graph gives what the eager run gave).
#pragma once
#include <cuda_runtime.h>

namespace cg::cuda {

template <class A>
struct Pair {
  A a, b;
};

// Every thread passes its partials and gets the block's totals. blockDim.x must be a
// multiple of 32 and at most 1024. Safe to call repeatedly (it ends on a barrier).
template <class A>
__device__ __forceinline__ Pair<A> block_sum2(A a, A b) {
  __shared__ A sa[32], sb[32];
  __shared__ A ta, tb;
  for (int o = 16; o > 0; o >>= 1) {
    a += __shfl_xor_sync(0xffffffffu, a, o);
    b += __shfl_xor_sync(0xffffffffu, b, o);
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  if (lane == 0) sa[warp] = a, sb[warp] = b;
  __syncthreads();
  if (warp == 0) {
    a = lane < warps ? sa[lane] : A(0);
    b = lane < warps ? sb[lane] : A(0);
    for (int o = 16; o > 0; o >>= 1) {
      a += __shfl_xor_sync(0xffffffffu, a, o);
      b += __shfl_xor_sync(0xffffffffu, b, o);
    }
    if (lane == 0) ta = a, tb = b;
  }
  __syncthreads();
  const Pair<A> r{ta, tb};
  __syncthreads();  // the next call may overwrite the shared totals only after everyone read them
  return r;
}

// Threads per block for a per-channel kernel over m values per channel.
inline int channel_block(long long m) { return m >= 65536 ? 1024 : m >= 4096 ? 512 : 256; }

}  // namespace cg::cuda
