// CPU pointwise activations (see activations.h): OpenMP loops over the shared scalar math.
#include "kernels/cpu/activations.h"

#include "engine/nvtx.h"
#include "engine/profile.h"

namespace cg::cpu {

template <class T>
void activation_forward(T* out, const T* inp, int64_t n, common::Activation act, T slope) {
  NVTX_RANGE_FN();
  prof::add_work(0, 2.0 * double(n) * sizeof(T));
#pragma omp parallel for if (n > 65536)
  for (int64_t i = 0; i < n; ++i) out[i] = common::activation_fwd(act, inp[i], slope);
}

template <class T>
void activation_backward(T* dinp, const T* dout, const T* inp, const T* out, int64_t n, common::Activation act,
                         T slope) {
  NVTX_RANGE_FN();
  prof::add_work(0, 5.0 * double(n) * sizeof(T));
#pragma omp parallel for if (n > 65536)
  for (int64_t i = 0; i < n; ++i) dinp[i] += common::activation_bwd(act, inp[i], out[i], dout[i], slope);
}

template void activation_forward<float>(float*, const float*, int64_t, common::Activation, float);
template void activation_forward<double>(double*, const double*, int64_t, common::Activation, double);
template void activation_backward<float>(float*, const float*, const float*, const float*, int64_t,
                                         common::Activation, float);
template void activation_backward<double>(double*, const double*, const double*, const double*, int64_t,
                                          common::Activation, double);

}  // namespace cg::cpu
