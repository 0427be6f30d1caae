// CPU dropout (see dropout.h): one Philox block per 4 elements, blocks in parallel.
// The mask is a pure function of (seed, offset + i), so the thread count never changes it.
#include "kernels/cpu/dropout.h"

#include "base/nvtx.h"
#include "base/profile.h"
#include "kernels/common/dropout.h"
#include "kernels/cpu/parallel.h"

namespace cg::cpu {

namespace {
constexpr int64_t kParallelMin = 65536;
}

template <class T>
void dropout_forward(T* out, uint8_t* mask, const T* x, int64_t n, uint64_t seed, uint64_t offset,
                     uint32_t threshold, T scale) {
  NVTX_RANGE_FN();
  prof::add_work(double(n), double(n) * (2 * sizeof(T) + 1));  // one multiply each; x read, out and mask written
  if (n <= 0) return;
  // Block b covers draws [4*(first+b), 4*(first+b)+4); element i is draw offset + i.
  const uint64_t first = offset / 4;
  const int64_t nblocks = int64_t((offset + uint64_t(n) - 1) / 4 - first + 1);
  parallel_each(nblocks, kParallelMin / 4, [&](int64_t b) {
    uint32_t w[4];
    common::philox_block(seed, first + uint64_t(b), w);
    for (int j = 0; j < 4; ++j) {
      const int64_t i = int64_t((first + uint64_t(b)) * 4 + uint64_t(j) - offset);
      if (i < 0 || i >= n) continue;
      mask[i] = common::dropout_keep(w[j], threshold) ? 1 : 0;
      out[i] = common::dropout_apply(x[i], mask[i], scale);
    }
  });
}

template <class T>
void dropout_backward(T* dx, const T* dout, const uint8_t* mask, int64_t n, T scale, bool accumulate) {
  NVTX_RANGE_FN();
  prof::add_work((accumulate ? 2.0 : 1.0) * double(n), double(n) * ((accumulate ? 3 : 2) * sizeof(T) + 1));  // dout, mask, dx (read and) written
  if (accumulate) {
    parallel_each(n, kParallelMin, [&](int64_t i) { dx[i] += common::dropout_apply(dout[i], mask[i], scale); });
  } else {
    parallel_each(n, kParallelMin, [&](int64_t i) { dx[i] = common::dropout_apply(dout[i], mask[i], scale); });
  }
}

template void dropout_forward<float>(float*, uint8_t*, const float*, int64_t, uint64_t, uint64_t, uint32_t, float);
template void dropout_forward<double>(double*, uint8_t*, const double*, int64_t, uint64_t, uint64_t, uint32_t,
                                      double);
template void dropout_backward<float>(float*, const float*, const uint8_t*, int64_t, float, bool);
template void dropout_backward<double>(double*, const double*, const uint8_t*, int64_t, double, bool);

}  // namespace cg::cpu
