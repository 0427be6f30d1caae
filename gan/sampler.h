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
// The same grid around base's first latent vector (its genre and noise).
Latents code_grid(const ModelConfig& cfg, const Latents& base, int steps);

// A cover's address: the stream it is drawn from and its index there. Its codes and noise
// depend on (seed, stream, index) alone, so cover 3 of a stream is the same cover whether
// 4 or 400 are drawn. `covergan generate` draws a genre's covers from stream genre + 1 and
// the noise the sweep shows in every genre from stream 0.
struct CoverId {
  int32_t genre = 0;
  uint64_t stream = 0;
  int64_t index = 0;
};
// Codes and noise uniform(-1,1), each cover from its own Philox position: key derived from
// (seed, stream), offset index * (n_codes + noise_dim, each rounded up to 4).
Latents indexed_latents(const ModelConfig& cfg, const std::vector<CoverId>& ids, uint64_t seed);
// Overwrites every image's codes with values (size n_codes).
void set_codes(Latents& l, const std::vector<double>& values);

// Images (N,3,S,S) f32 on the host, in [-1,1]. One batch: with BnMode::batch the
// batch statistics are those of all N images together (so each image depends on all the
// others); with BnMode::eval (the running statistics) each depends on its own latents only.
Tensor generate(Generator& G, const Latents& l, BnMode mode);

}  // namespace cg::gan
