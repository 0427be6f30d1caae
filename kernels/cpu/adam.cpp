// CPU Adam: one OpenMP loop over the flat parameter buffer (see adam.h).
#include "kernels/cpu/adam.h"

#include "base/nvtx.h"
#include "base/profile.h"
#include "kernels/cpu/parallel.h"

namespace cg::cpu {

template <class T>
void adam_step(T* param, T* m, T* v, T* grad, int64_t n, const common::AdamScalars<T>& s, bool zero_grad) {
  NVTX_RANGE_FN();
  // param, m, v read and written; grad read (and written with zero_grad)
  prof::add_work(15.0 * double(n), (zero_grad ? 8.0 : 7.0) * double(n) * sizeof(T));
  if (zero_grad)
    parallel_each(n, 65536, [&](int64_t i) {
      common::adam_update(param[i], m[i], v[i], grad[i], s);
      grad[i] = T(0);
    });
  else
    parallel_each(n, 65536, [&](int64_t i) { common::adam_update(param[i], m[i], v[i], grad[i], s); });
}

template void adam_step<float>(float*, float*, float*, float*, int64_t, const common::AdamScalars<float>&, bool);
template void adam_step<double>(double*, double*, double*, double*, int64_t, const common::AdamScalars<double>&,
                                bool);

}  // namespace cg::cpu
