// CPU projection onto resize-convolutions: one loop over the 4x4 kernels (see resize_conv.h).
#include "kernels/cpu/resize_conv.h"

#include "base/nvtx.h"
#include "kernels/common/resize_conv.h"
#include "kernels/cpu/parallel.h"

namespace cg::cpu {

template <class T>
void project_resize_conv(T* w, int64_t kernels, T strength) {
  NVTX_RANGE_FN();
  parallel_each(kernels, 4096, [&](int64_t i) { common::project_resize_kernel(w + i * 16, strength); });
}

template void project_resize_conv<float>(float*, int64_t, float);
template void project_resize_conv<double>(double*, int64_t, double);

}  // namespace cg::cpu
