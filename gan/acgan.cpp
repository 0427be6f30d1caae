// The AC-GAN losses and one training iteration (see acgan.h).
#include "gan/acgan.h"

#include <cmath>
#include <utility>

#include "base/nvtx.h"
#include "kernels/cpu/threads.h"
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
  NVTX_SCOPE_FN();
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
  // Its own stream, keyed by where the latent stream stands: a new key every iteration, and
  // a resumed run (which restores that position) draws the same masks.
  b.dropout_key = splitmix64(rng.seed() ^ splitmix64(rng.offset() ^ 0x64726f706f7574ull));
}

namespace {
// The D step's and the G step's dropout streams: one key each, so their masks are independent.
Philox dropout_stream(const StepBatch& b, uint64_t step) { return Philox(splitmix64(b.dropout_key ^ step)); }
}  // namespace

namespace {

double mean_sigmoid(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += 1.0 / (1.0 + std::exp(-x));
  return v.empty() ? 0.0 : s / double(v.size());
}

// Share of rows whose largest logit (the first on ties, as torch.argmax) is the label.
double host_accuracy(const std::vector<double>& z, const std::vector<double>& y) {
  const size_t N = y.size(), K = N ? z.size() / N : 0;
  if (N == 0 || K == 0) return 0.0;
  size_t hits = 0;
  for (size_t i = 0; i < N; ++i) {
    size_t best = 0;
    for (size_t k = 1; k < K; ++k)
      if (z[i * K + k] > z[i * K + best]) best = k;
    hits += (best == size_t(y[i]));
  }
  return double(hits) / double(N);
}

// Host copies of several small tensors of one dtype with a single device-to-host transfer
// (one host sync, not one per tensor): on a GPU they are packed side by side on the device
// first. Undefined entries give empty vectors.
std::vector<std::vector<double>> read_together(const std::vector<Tensor>& ts) {
  std::vector<std::vector<double>> out(ts.size());
  const Tensor* first = nullptr;
  int64_t n = 0;
  for (const Tensor& t : ts)
    if (t.defined()) first = first ? first : &t, n += t.numel();
  if (!first) return out;
  if (!first->is_cuda()) {
    for (size_t i = 0; i < ts.size(); ++i)
      if (ts[i].defined()) out[i] = ts[i].to_vector();
    return out;
  }
  Tensor pack = Tensor::empty(Shape{n}, first->dtype(), first->device());
  int64_t off = 0;
  for (const Tensor& t : ts)
    if (t.defined()) pack.slice_view(off, t.shape()).copy_(t), off += t.numel();
  const std::vector<double> all = pack.to_vector();
  off = 0;
  for (size_t i = 0; i < ts.size(); ++i)
    if (ts[i].defined()) {
      out[i].assign(all.begin() + off, all.begin() + off + ts[i].numel());
      off += ts[i].numel();
    }
  return out;
}

double first_or_zero(const std::vector<double>& v) { return v.empty() ? 0.0 : v[0]; }

// Joins named terms into their sum (weights given) and backpropagates it.
Tensor sum_terms(Tape& tape, const std::vector<std::pair<Tensor, double>>& terms) {
  std::vector<Tensor> xs;
  std::vector<double> ws;
  for (const auto& [t, w] : terms) xs.push_back(t), ws.push_back(w);
  return weighted_sum(&tape, xs, ws);
}

}  // namespace

void d_backward(Generator& G, Discriminator& D, const StepBatch& b, const LossConfig& lc, StepStats& st,
                TapeGraph* graph) {
  NVTX_SCOPE_FN();
  const int64_t B = b.z.dim(0);
  CG_CHECK(b.real.defined() && b.real.dim(0) == B, "d_backward: real batch ",
           b.real.defined() ? b.real.shape().str() : "undefined", " for ", B, " latent vectors");
  D.params().set_requires_grad(true);
  D.params().zero_grad();
  const Tensor fake = G.forward(nullptr, b.z, BnMode::train);  // no tape: G gets no gradient here
  const DType dt = fake.dtype();
  const Tensor ones = Tensor::full(Shape{B, 1}, lc.real_label, dt, fake.device());
  const Tensor zeros = Tensor::zeros(Shape{B, 1}, dt, fake.device());
  Tape tape;
  Philox drop = dropout_stream(b, 1);
  const DOut r = D.forward(&tape, d_input(&tape, b.real, b.real_in), BnMode::train, &drop);
  const DOut f = D.forward(&tape, d_input(&tape, fake, b.fake_in_d), BnMode::train, &drop);
  Tensor src_r, src_f, cls_r, cls_f, code, total;
  {
    NVTX_LAYER("D.loss", "forward");  // every loss term and their sum: one profile row
    src_r = bce_with_logits(&tape, r.src, ones), src_f = bce_with_logits(&tape, f.src, zeros);
    std::vector<std::pair<Tensor, double>> terms{{src_r, 1.0}, {src_f, 1.0}};
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
    total = sum_terms(tape, terms);
  }
  if (graph)
    *graph = TapeGraph::of(tape, "D step",
                           {{b.real, "real images"}, {fake, "G(z), detached: G ran without a tape"},
                            {ones, "targets 1"}, {zeros, "targets 0"}, {b.real_labels, "real genres"},
                            {b.fake_labels, "drawn genres"}, {b.codes, "drawn codes c"}, {src_r, "d_src_real"},
                            {src_f, "d_src_fake"}, {cls_r, "d_cls_real"}, {cls_f, "d_cls_fake"}, {code, "d_code"},
                            {total, "d_total"}});
  tape.backward(total);
  if (graph) graph->capture_values();
  // Every loss term and the logits the statistics need, read back in one transfer.
  const auto v = read_together({total, src_r, src_f, cls_r, cls_f, code, r.src, f.src,
                                lc.genre_terms ? r.cls : Tensor(), lc.genre_terms ? f.cls : Tensor()});
  st.d_total = first_or_zero(v[0]);
  st.d_src_real = first_or_zero(v[1]);
  st.d_src_fake = first_or_zero(v[2]);
  st.d_cls_real = first_or_zero(v[3]);
  st.d_cls_fake = first_or_zero(v[4]);
  st.d_code = first_or_zero(v[5]);
  st.d_real = mean_sigmoid(v[6]);
  st.d_fake = mean_sigmoid(v[7]);
  if (lc.genre_terms) {
    check_shape("d_backward", "real labels", b.real_labels, Shape{B});
    check_shape("d_backward", "fake labels", b.fake_labels, Shape{B});
    const auto y = read_together({b.real_labels, b.fake_labels});  // the stream is idle now: no wait
    st.acc_real = host_accuracy(v[8], y[0]);
    st.acc_fake = host_accuracy(v[9], y[1]);
  }
}

void g_backward(Generator& G, Discriminator& D, const StepBatch& b, const LossConfig& lc, StepStats& st,
                TapeGraph* graph) {
  NVTX_SCOPE_FN();
  G.params().zero_grad();
  D.params().set_requires_grad(false);  // D's weight gradients are skipped, its input's kept
  Tape tape;
  const Tensor fake = G.forward(&tape, b.z, BnMode::train);
  Philox drop = dropout_stream(b, 2);
  const DOut f = D.forward(&tape, d_input(&tape, fake, b.fake_in_g), BnMode::train, &drop);
  const int64_t B = b.z.dim(0);
  const Tensor ones = Tensor::full(Shape{B, 1}, 1.0, fake.dtype(), fake.device());
  Tensor src, cls, code, total;
  {
    NVTX_LAYER("G.loss", "forward");
    src = bce_with_logits(&tape, f.src, ones);  // non-saturating: fake labelled real
    std::vector<std::pair<Tensor, double>> terms{{src, 1.0}};
    if (lc.genre_terms) {
      cls = cross_entropy(&tape, f.cls, b.fake_labels);
      terms.push_back({cls, 1.0});
    }
    if (f.code.defined()) {
      code = mse(&tape, f.code, b.codes);
      terms.push_back({code, lc.lambda_code});
    }
    total = sum_terms(tape, terms);
  }
  if (graph)
    *graph = TapeGraph::of(tape, "G step",
                           {{b.z, "z = [genre | codes | noise]"}, {fake, "G(z)"}, {ones, "targets 1"},
                            {b.fake_labels, "drawn genres"}, {b.codes, "drawn codes c"}, {src, "g_src"},
                            {cls, "g_cls"}, {code, "g_code"}, {total, "g_total"}});
  try {
    tape.backward(total);
  } catch (...) {
    D.params().set_requires_grad(true);
    throw;
  }
  D.params().set_requires_grad(true);
  if (graph) graph->capture_values();
  const auto v = read_together({total, src, cls, code});  // one transfer
  st.g_total = first_or_zero(v[0]);
  st.g_src = first_or_zero(v[1]);
  st.g_cls = first_or_zero(v[2]);
  st.g_code = first_or_zero(v[3]);
}

namespace {

void check_finite(std::initializer_list<std::pair<const char*, double>> terms) {
  for (const auto& [name, v] : terms)
    if (!std::isfinite(v)) throw NonFiniteLoss(name, v);
}

}  // namespace

StepStats train_step(Generator& G, Discriminator& D, Adam& opt_g, Adam& opt_d, const StepBatch& b,
                     const LossConfig& lc) {
  NVTX_SCOPE_FN();
  cpu::adapt_threads();  // fewer CPU threads while other programs keep CPUs busy
  StepStats st;
  d_backward(G, D, b, lc, st);
  check_finite({{"d_src_real", st.d_src_real},
                {"d_src_fake", st.d_src_fake},
                {"d_cls_real", st.d_cls_real},
                {"d_cls_fake", st.d_cls_fake},
                {"d_code", st.d_code},
                {"d_total", st.d_total}});
  {
    NVTX_LAYER("D.adam", "update");
    opt_d.step();
  }
  g_backward(G, D, b, lc, st);
  check_finite({{"g_src", st.g_src}, {"g_cls", st.g_cls}, {"g_code", st.g_code}, {"g_total", st.g_total}});
  {
    NVTX_LAYER("G.adam", "update");
    opt_g.step();
  }
  return st;
}

}  // namespace cg::gan
