// The AC-GAN losses and one training iteration (see acgan.h).
#include "gan/acgan.h"

#include <cmath>
#include <utility>

#include "engine/nvtx.h"
#include "layers/losses.h"
#include "layers/shape_ops.h"

namespace cg::gan {

NonFiniteLoss::NonFiniteLoss(const std::string& t, double v)
    : Error(detail::cat("The loss term ", t, " is ", v, ".")), term(t), value(v) {}

Tensor make_generator_input(const ModelConfig& cfg, const std::vector<int32_t>& genres, const Tensor& codes,
                            const Tensor& noise) {
  const int64_t N = int64_t(genres.size()), K = cfg.num_genres, C = cfg.n_codes, Z = cfg.noise_dim();
  CG_CHECK(noise.shape() == (Shape{N, Z}), "make_generator_input: noise ", noise.shape().str(), " for ", N,
           " images of noise_dim ", Z);
  CG_CHECK(C == 0 || codes.shape() == (Shape{N, C}), "make_generator_input: codes ",
           codes.defined() ? codes.shape().str() : "undefined", " for ", N, " images of ", C, " codes");
  const std::vector<double> nv = noise.to_vector();
  const std::vector<double> cv = C > 0 ? codes.to_vector() : std::vector<double>{};
  std::vector<double> z(static_cast<size_t>(N * cfg.z_dim), 0.0);
  for (int64_t i = 0; i < N; ++i) {
    CG_CHECK(genres[size_t(i)] >= 0 && genres[size_t(i)] < K, "make_generator_input: genre ", genres[size_t(i)],
             " outside [0, ", K, ")");
    double* row = z.data() + i * cfg.z_dim;
    row[genres[size_t(i)]] = 1.0;
    for (int64_t c = 0; c < C; ++c) row[K + c] = cv[size_t(i * C + c)];
    for (int64_t k = 0; k < Z; ++k) row[K + C + k] = nv[size_t(i * Z + k)];
  }
  return Tensor::from(z, Shape{N, cfg.z_dim}, noise.dtype());
}

void draw_latents(Philox& rng, const ModelConfig& cfg, int64_t B, Device device, DType dtype, StepBatch& b) {
  NVTX_RANGE_FN();
  std::vector<int32_t> genres(static_cast<size_t>(B));
  for (auto& g : genres) g = int32_t(rng.next_below(cfg.num_genres));
  Tensor codes;
  if (cfg.n_codes > 0) {
    codes = Tensor::empty(Shape{B, cfg.n_codes}, dtype);
    rng.uniform(codes, -1.0, 1.0);
  }
  Tensor noise = Tensor::empty(Shape{B, cfg.noise_dim()}, dtype);
  rng.uniform(noise, -1.0, 1.0);
  b.z = make_generator_input(cfg, genres, codes, noise).to(device);
  b.fake_labels = Tensor::from_labels(genres, device);
  b.codes = codes.defined() ? codes.to(device) : Tensor();
}

namespace {

double mean_sigmoid(const Tensor& logits) {
  double s = 0;
  const auto v = logits.to_vector();
  for (double x : v) s += 1.0 / (1.0 + std::exp(-x));
  return v.empty() ? 0.0 : s / double(v.size());
}

// Joins named terms into their sum (weights given) and backpropagates it.
Tensor sum_terms(Tape& tape, const std::vector<std::pair<Tensor, double>>& terms) {
  std::vector<Tensor> xs;
  std::vector<double> ws;
  for (const auto& [t, w] : terms) xs.push_back(t), ws.push_back(w);
  return weighted_sum(&tape, xs, ws);
}

}  // namespace

void d_backward(Generator& G, Discriminator& D, const StepBatch& b, const LossConfig& lc, StepStats& st) {
  NVTX_RANGE_FN();
  const int64_t B = b.z.dim(0);
  CG_CHECK(b.real.defined() && b.real.dim(0) == B, "d_backward: real batch ",
           b.real.defined() ? b.real.shape().str() : "undefined", " for ", B, " latent vectors");
  D.params().set_requires_grad(true);
  D.params().zero_grad();
  const Tensor fake = G.forward(nullptr, b.z, BnMode::train);  // no tape: G gets no gradient here
  const DType dt = fake.dtype();
  const Tensor ones = Tensor::full(Shape{B, 1}, 1.0, dt, fake.device());
  const Tensor zeros = Tensor::zeros(Shape{B, 1}, dt, fake.device());
  Tape tape;
  const DOut r = D.forward(&tape, b.real, BnMode::train);
  const DOut f = D.forward(&tape, fake, BnMode::train);
  const Tensor src_r = bce_with_logits(&tape, r.src, ones), src_f = bce_with_logits(&tape, f.src, zeros);
  std::vector<std::pair<Tensor, double>> terms{{src_r, 1.0}, {src_f, 1.0}};
  Tensor cls_r, cls_f, code;
  if (lc.genre_terms) {
    cls_r = cross_entropy(&tape, r.cls, b.real_labels);
    cls_f = cross_entropy(&tape, f.cls, b.fake_labels);
    terms.push_back({cls_r, 1.0});
    terms.push_back({cls_f, 1.0});
  }
  if (f.code.defined()) {
    code = mse(&tape, f.code, b.codes);
    terms.push_back({code, lc.lambda_code});
  }
  const Tensor total = sum_terms(tape, terms);
  tape.backward(total);
  st.d_total = total.item();
  st.d_src_real = src_r.item();
  st.d_src_fake = src_f.item();
  st.d_cls_real = cls_r.defined() ? cls_r.item() : 0.0;
  st.d_cls_fake = cls_f.defined() ? cls_f.item() : 0.0;
  st.d_code = code.defined() ? code.item() : 0.0;
  st.d_real = mean_sigmoid(r.src);
  st.d_fake = mean_sigmoid(f.src);
  st.acc_real = lc.genre_terms ? accuracy(r.cls, b.real_labels) : 0.0;
  st.acc_fake = lc.genre_terms ? accuracy(f.cls, b.fake_labels) : 0.0;
}

void g_backward(Generator& G, Discriminator& D, const StepBatch& b, const LossConfig& lc, StepStats& st) {
  NVTX_RANGE_FN();
  G.params().zero_grad();
  D.params().set_requires_grad(false);  // D's weight gradients are skipped, its input's kept
  Tape tape;
  const Tensor fake = G.forward(&tape, b.z, BnMode::train);
  const DOut f = D.forward(&tape, fake, BnMode::train);
  const int64_t B = b.z.dim(0);
  const Tensor ones = Tensor::full(Shape{B, 1}, 1.0, fake.dtype(), fake.device());
  const Tensor src = bce_with_logits(&tape, f.src, ones);  // non-saturating: fake labelled real
  std::vector<std::pair<Tensor, double>> terms{{src, 1.0}};
  Tensor cls, code;
  if (lc.genre_terms) {
    cls = cross_entropy(&tape, f.cls, b.fake_labels);
    terms.push_back({cls, 1.0});
  }
  if (f.code.defined()) {
    code = mse(&tape, f.code, b.codes);
    terms.push_back({code, lc.lambda_code});
  }
  const Tensor total = sum_terms(tape, terms);
  try {
    tape.backward(total);
  } catch (...) {
    D.params().set_requires_grad(true);
    throw;
  }
  D.params().set_requires_grad(true);
  st.g_total = total.item();
  st.g_src = src.item();
  st.g_cls = cls.defined() ? cls.item() : 0.0;
  st.g_code = code.defined() ? code.item() : 0.0;
}

namespace {

void check_finite(std::initializer_list<std::pair<const char*, double>> terms) {
  for (const auto& [name, v] : terms)
    if (!std::isfinite(v)) throw NonFiniteLoss(name, v);
}

}  // namespace

StepStats train_step(Generator& G, Discriminator& D, Adam& opt_g, Adam& opt_d, const StepBatch& b,
                     const LossConfig& lc) {
  NVTX_RANGE_FN();
  StepStats st;
  d_backward(G, D, b, lc, st);
  check_finite({{"d_src_real", st.d_src_real},
                {"d_src_fake", st.d_src_fake},
                {"d_cls_real", st.d_cls_real},
                {"d_cls_fake", st.d_cls_fake},
                {"d_code", st.d_code},
                {"d_total", st.d_total}});
  opt_d.step();
  g_backward(G, D, b, lc, st);
  check_finite({{"g_src", st.g_src}, {"g_cls", st.g_cls}, {"g_code", st.g_code}, {"g_total", st.g_total}});
  opt_g.step();
  return st;
}

}  // namespace cg::gan
