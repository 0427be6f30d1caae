// CPU draw of the generator input (see latents.h): the shared per-element function.
#include "kernels/cpu/latents.h"

#include "base/nvtx.h"
#include "kernels/common/latents.h"

namespace cg::cpu {

template <class T>
void draw_latents(T* z, int32_t* genres, T* codes, const uint64_t* offset, uint64_t seed, int64_t B, int64_t K,
                  int64_t C, int64_t Z) {
  NVTX_RANGE_FN();
  const common::LatentLayout L{B, K, C, Z};
  const uint64_t off = *offset;
  const int64_t D = K + C + Z;
  for (int64_t i = 0; i < B; ++i) {
    genres[i] = common::latent_genre(L, seed, off, i);
    for (int64_t j = 0; j < D; ++j) z[i * D + j] = T(common::latent_value(L, seed, off, i, j));
    for (int64_t c = 0; c < C && codes; ++c) codes[i * C + c] = z[i * D + K + c];
  }
}

void advance_offset(uint64_t* offset, uint64_t words) { *offset += words; }

template void draw_latents<float>(float*, int32_t*, float*, const uint64_t*, uint64_t, int64_t, int64_t, int64_t,
                                  int64_t);
template void draw_latents<double>(double*, int32_t*, double*, const uint64_t*, uint64_t, int64_t, int64_t, int64_t,
                                   int64_t);

}  // namespace cg::cpu
