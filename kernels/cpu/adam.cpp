// CPU Adam: one OpenMP loop over the flat parameter buffer (see adam.h).
#include "kernels/cpu/adam.h"

#include "base/nvtx.h"
#include "base/profile.h"
#include "kernels/cpu/parallel.h"

namespace cg::cpu {

template <class T>
void adam_step(T* param, T* m, T* v, const T* grad, int64_t n, const common::AdamScalars<T>& s) {
  NVTX_RANGE_FN();
  prof::add_work(15.0 * double(n), 7.0 * double(n) * sizeof(T));  // param, m, v read and written; grad read
  parallel_each(n, 65536, [&](int64_t i) { common::adam_update(param[i], m[i], v[i], grad[i], s); });
}

template void adam_step<float>(float*, float*, float*, const float*, int64_t, const common::AdamScalars<float>&);
template void adam_step<double>(double*, double*, double*, const double*, int64_t,
                                const common::AdamScalars<double>&);

}  // namespace cg::cpu
