// Standing statistics for the generator sampling uses (see standing_stats.h).
#include "gan/standing_stats.h"

#include <vector>

#include "base/check.h"
#include "gan/sampler.h"

namespace cg::gan {

void measure_standing_stats(Generator& G, int batches, int batch, uint64_t seed) {
  CG_CHECK(batches >= 1 && batch >= 2, "measure_standing_stats: ", batches, " batches of ", batch,
           " (at least 1 of 2 needed)");
  const ModelConfig& m = G.config();
  const double momentum = G.bn_momentum();
  Philox rng(seed);
  std::vector<int32_t> genres(size_t(batch), 0);
  for (int k = 0; k < batches; ++k) {
    for (int i = 0; i < batch; ++i) genres[size_t(i)] = m.num_genres > 0 ? int32_t((k * batch + i) % m.num_genres) : 0;
    // running = (1 - 1/(k+1)) running + 1/(k+1) batch: after the k-th pass, the plain mean
    // of the k+1 batches' statistics (the first pass replaces what was there).
    G.set_bn_momentum(1.0 / double(k + 1));
    (void)generate(G, draw_latents_for(m, genres, rng), BnMode::train);
  }
  G.set_bn_momentum(momentum);
}

}  // namespace cg::gan
