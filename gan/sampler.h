// Sampling from a generator: the latent layouts behind the sample grids (one row
// per genre, the genre sweep of the paper's Fig. 3b, a grid over the two latent
// codes) and the forward pass that turns them into images.
#pragma once
#include <vector>

#include "engine/philox.h"
#include "gan/generator.h"

namespace cg::gan {

// N latent vectors on the host, in the order the images will be laid out.
struct Latents {
  std::vector<int32_t> genres;  // (N)
  Tensor codes;                 // (N,n_codes) f32, undefined when n_codes == 0
  Tensor noise;                 // (N,noise_dim) f32
  int64_t size() const { return int64_t(genres.size()); }
};

// Independent codes and noise, uniform(-1,1), for the given genres.
Latents draw_latents_for(const ModelConfig& cfg, const std::vector<int32_t>& genres, Philox& rng);
// K rows (one per genre) of cols images. shared: every row uses the same cols noise and
// code vectors (so a column shows one latent point across the genres); else all independent.
Latents genre_rows(const ModelConfig& cfg, int cols, bool shared, Philox& rng);
// The paper's Fig. 3b: rows noise/code vectors, each shown in every genre (one column per genre).
Latents genre_sweep(const ModelConfig& cfg, int rows, Philox& rng);
// One genre, one noise vector; codes 0 and 1 each run from -1 to 1 over steps points
// (rows: code 1, columns: code 0; other codes 0).
Latents code_grid(const ModelConfig& cfg, int32_t genre, int steps, Philox& rng);
// Overwrites every image's codes with values (size n_codes).
void set_codes(Latents& l, const std::vector<double>& values);

// Images (N,3,S,S) f32 on the host, in [-1,1]. One batch: with BnMode::batch the
// batch statistics are those of all N images together.
Tensor generate(Generator& G, const Latents& l, BnMode mode);

}  // namespace cg::gan
