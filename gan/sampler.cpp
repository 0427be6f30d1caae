// Latent layouts for sample grids and the sampling forward pass (see sampler.h).
#include "gan/sampler.h"

#include "gan/acgan.h"

namespace cg::gan {
namespace {

Latents empty_latents(const ModelConfig& cfg, int64_t n) {
  Latents l;
  l.genres.assign(static_cast<size_t>(n), 0);
  if (cfg.n_codes > 0) l.codes = Tensor::zeros(Shape{n, cfg.n_codes});
  l.noise = Tensor::zeros(Shape{n, cfg.noise_dim()});
  return l;
}

// Copies row src of from into row dst of to (codes and noise).
void copy_row(Latents& to, int64_t dst, const Latents& from, int64_t src) {
  auto copy = [&](Tensor& a, const Tensor& b) {
    if (!a.defined()) return;
    const int64_t w = a.dim(1);
    const float* s = b.data<float>() + src * w;
    float* d = a.data<float>() + dst * w;
    for (int64_t i = 0; i < w; ++i) d[i] = s[i];
  };
  copy(to.codes, from.codes);
  copy(to.noise, from.noise);
}

}  // namespace

Latents draw_latents_for(const ModelConfig& cfg, const std::vector<int32_t>& genres, Philox& rng) {
  Latents l = empty_latents(cfg, int64_t(genres.size()));
  l.genres = genres;
  if (genres.empty()) return l;
  if (l.codes.defined()) rng.uniform(l.codes, -1.0, 1.0);
  rng.uniform(l.noise, -1.0, 1.0);
  return l;
}

Latents genre_rows(const ModelConfig& cfg, int cols, bool shared, Philox& rng) {
  CG_CHECK(cols >= 1, "genre_rows: need at least one column, got ", cols);
  const int K = cfg.num_genres;
  std::vector<int32_t> genres;
  for (int k = 0; k < K; ++k)
    for (int c = 0; c < cols; ++c) genres.push_back(k);
  if (!shared) return draw_latents_for(cfg, genres, rng);
  const Latents base = draw_latents_for(cfg, std::vector<int32_t>(size_t(cols), 0), rng);
  Latents l = empty_latents(cfg, int64_t(genres.size()));
  l.genres = genres;
  for (int k = 0; k < K; ++k)
    for (int c = 0; c < cols; ++c) copy_row(l, int64_t(k) * cols + c, base, c);
  return l;
}

Latents genre_sweep(const ModelConfig& cfg, int rows, Philox& rng) {
  CG_CHECK(rows >= 1, "genre_sweep: need at least one row, got ", rows);
  const int K = cfg.num_genres;
  const Latents base = draw_latents_for(cfg, std::vector<int32_t>(size_t(rows), 0), rng);
  Latents l = empty_latents(cfg, int64_t(rows) * K);
  for (int r = 0; r < rows; ++r)
    for (int k = 0; k < K; ++k) {
      l.genres[size_t(r * K + k)] = k;
      copy_row(l, int64_t(r) * K + k, base, r);
    }
  return l;
}

Latents code_grid(const ModelConfig& cfg, int32_t genre, int steps, Philox& rng) {
  CG_USER_CHECK(cfg.n_codes >= 1, "This model has no latent codes to interpolate along.");
  return code_grid(cfg, draw_latents_for(cfg, {genre}, rng), steps);
}

Latents code_grid(const ModelConfig& cfg, const Latents& base, int steps) {
  CG_USER_CHECK(cfg.n_codes >= 1, "This model has no latent codes to interpolate along.");
  CG_CHECK(steps >= 2, "code_grid: need at least 2 steps, got ", steps);
  CG_CHECK(base.size() >= 1, "code_grid: no base latent vector");
  const int32_t genre = base.genres[0];
  const int rows = cfg.n_codes >= 2 ? steps : 1;
  Latents l = empty_latents(cfg, int64_t(rows) * steps);
  float* codes = l.codes.data<float>();
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < steps; ++c) {
      const int64_t i = int64_t(r) * steps + c;
      l.genres[size_t(i)] = genre;
      copy_row(l, i, base, 0);
      for (int k = 0; k < cfg.n_codes; ++k) codes[i * cfg.n_codes + k] = 0.0f;
      codes[i * cfg.n_codes] = float(-1.0 + 2.0 * c / (steps - 1));
      if (cfg.n_codes >= 2) codes[i * cfg.n_codes + 1] = float(-1.0 + 2.0 * r / (steps - 1));
    }
  return l;
}

Latents indexed_latents(const ModelConfig& cfg, const std::vector<CoverId>& ids, uint64_t seed) {
  Latents l = empty_latents(cfg, int64_t(ids.size()));
  const int64_t C = cfg.n_codes, Z = cfg.noise_dim();
  const uint64_t per = uint64_t((C + 3) / 4 * 4 + (Z + 3) / 4 * 4);  // draws per cover
  Tensor codes = C > 0 ? Tensor::empty(Shape{1, C}) : Tensor(), noise = Tensor::empty(Shape{1, Z});
  for (size_t i = 0; i < ids.size(); ++i) {
    CG_CHECK(ids[i].index >= 0, "indexed_latents: negative index ", ids[i].index);
    l.genres[i] = ids[i].genre;
    Philox rng(splitmix64(seed ^ splitmix64(ids[i].stream)), uint64_t(ids[i].index) * per);
    Latents one;
    if (C > 0) rng.uniform(codes, -1.0, 1.0), one.codes = codes;
    rng.uniform(noise, -1.0, 1.0);
    one.noise = noise;
    copy_row(l, int64_t(i), one, 0);
  }
  return l;
}

void set_codes(Latents& l, const std::vector<double>& values) {
  const int64_t C = l.codes.defined() ? l.codes.dim(1) : 0;
  CG_USER_CHECK(int64_t(values.size()) == C, "The model has ", C, " latent codes but ", values.size(),
                " values were given.");
  float* codes = C > 0 ? l.codes.data<float>() : nullptr;
  for (int64_t i = 0; i < l.size(); ++i)
    for (int64_t k = 0; k < C; ++k) codes[i * C + k] = float(values[size_t(k)]);
}

Tensor generate(Generator& G, const Latents& l, BnMode mode) {
  CG_CHECK(l.size() >= 1, "generate: no latent vectors");
  const Tensor z = make_generator_input(G.config(), l.genres, l.codes, l.noise);
  const DType dt = G.params().dtype();
  const Tensor zin = (dt == DType::f32 ? z : z.to(dt)).to(G.params().device());
  return G.forward(nullptr, zin, mode).to(Device::cpu);
}

}  // namespace cg::gan
