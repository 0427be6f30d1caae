// The AC-GAN losses and one training iteration (see acgan.h): the D and G steps as tape
// work, the device-side latent draw, the statistics kernel and the guard; no step reads a
// value back to the host, so a whole iteration can be captured as a CUDA graph.
#include "gan/acgan.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <tuple>
#include <utility>

#include "base/nvtx.h"
#include "engine/dispatch.h"
#include "kernels/common/latents.h"
#include "kernels/cpu/latents.h"
#include "kernels/cpu/step_stats.h"
#include "kernels/cpu/threads.h"
#include "kernels/cuda/latents.h"
#include "kernels/cuda/step_stats.h"
#include "layers/batchnorm2d_sync.h"
#include "layers/losses.h"
#include "layers/shape_ops.h"
#include "layers/spectral_loss.h"

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

namespace {

using common::StatSlot;

const char* const kSlotNames[common::kStatSlots] = {
    "d_total", "d_src_real", "d_src_fake", "d_cls_real", "d_cls_fake", "d_code", "g_total", "g_src",
    "g_cls",   "g_code",     "d_real",     "d_fake",     "acc_real",   "acc_fake", "halted",  "g_spectral"};

uint64_t* offset_ptr(Tensor& t) { return reinterpret_cast<uint64_t*>(t.data<int32_t>()); }

// b.slot on dev with shape s and dtype dt: reused when it already is (fixed addresses for a
// captured graph), made otherwise.
Tensor& ensure(Tensor& slot, Shape s, DType dt, Device dev) {
  if (!slot.defined() || slot.shape() != s || slot.dtype() != dt || slot.device() != dev) slot = Tensor::empty(s, dt, dev);
  return slot;
}

// Joins named terms into their sum (weights given).
Tensor sum_terms(Tape& tape, const std::vector<std::pair<Tensor, double>>& terms) {
  std::vector<Tensor> xs;
  std::vector<double> ws;
  for (const auto& [t, w] : terms) xs.push_back(t), ws.push_back(w);
  return weighted_sum(&tape, xs, ws);
}

const float* value_or_null(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

// The statistics kernel on the state's device.
void record_stats(IterationState& st, const common::LossTerms& terms, const common::BatchLogits& logits) {
  float* stats = st.stats.data<float>();
  int32_t* halt = st.halt.data<int32_t>();
  if (!st.stats.is_cuda()) return cpu::step_stats(stats, halt, terms, logits);
  on_cuda("step_stats", st.stats, [&]<class>() { cuda::step_stats(stats, halt, terms, logits); });
}

// One Adam update under the iteration's guard, as the layer row "<model>.adam update".
void adam_step(Adam& opt, IterationState& st, const char* layer) {
  NVTX_LAYER(layer, "update");
  opt.step(st.halt);
}

}  // namespace

StepStats stats_from(const float* v) {
  StepStats s;
  s.d_total = v[common::kDTotal], s.d_src_real = v[common::kDSrcReal], s.d_src_fake = v[common::kDSrcFake];
  s.d_cls_real = v[common::kDClsReal], s.d_cls_fake = v[common::kDClsFake], s.d_code = v[common::kDCode];
  s.g_total = v[common::kGTotal], s.g_src = v[common::kGSrc], s.g_cls = v[common::kGCls], s.g_code = v[common::kGCode];
  s.g_spectral = v[common::kGSpectral];
  s.d_real = v[common::kDReal], s.d_fake = v[common::kDFake];
  s.acc_real = v[common::kAccReal], s.acc_fake = v[common::kAccFake];
  s.halted = int(v[common::kHalted]);
  return s;
}

const char* halted_term(int code) { return code > 0 && code <= common::kStatSlots ? kSlotNames[code - 1] : ""; }

double halted_value(const StepStats& s) {
  const double v[] = {s.d_total, s.d_src_real, s.d_src_fake, s.d_cls_real, s.d_cls_fake,
                      s.d_code,  s.g_total,    s.g_src,      s.g_cls,      s.g_code};
  if (s.halted == 1 + common::kGSpectral) return s.g_spectral;
  return s.halted > 0 && s.halted <= 10 ? v[s.halted - 1] : 0.0;
}

IterationState::IterationState(Device d, uint64_t seed_, uint64_t offset_) : seed(seed_) {
  stats = Tensor::zeros(Shape{common::kStatSlots}, DType::f32, d);
  halt = Tensor::zeros(Shape{1}, DType::i32, d);
  offset = Tensor::empty(Shape{2}, DType::i32, Device::cpu);
  std::memcpy(offset.raw(), &offset_, sizeof offset_);
  offset = offset.to(d);
}

StepStats IterationState::read() const {
  const std::vector<double> v = stats.to_vector();
  float f[common::kStatSlots];
  for (int i = 0; i < common::kStatSlots; ++i) f[i] = float(v[size_t(i)]);
  return stats_from(f);
}

uint64_t IterationState::read_offset() const {
  const Tensor h = offset.to(Device::cpu);
  uint64_t o = 0;
  std::memcpy(&o, h.raw(), sizeof o);
  return o;
}

void IterationState::clear_halt() { halt.zero_(); }

uint64_t latent_words(const ModelConfig& cfg, int64_t B) {
  return common::LatentLayout{B, cfg.num_genres, cfg.n_codes, cfg.noise_dim()}.words();
}

void draw_latents(IterationState& st, const ModelConfig& cfg, int64_t B, StepBatch& b) {
  NVTX_SCOPE("draw_latents");
  const Device dev = st.offset.device();
  const int64_t K = cfg.num_genres, C = cfg.n_codes, Z = cfg.noise_dim();
  Tensor& z = ensure(b.z, Shape{B, cfg.z_dim}, DType::f32, dev);
  Tensor& labels = ensure(b.fake_labels, Shape{B}, DType::i32, dev);
  if (C > 0) ensure(b.codes, Shape{B, C}, DType::f32, dev);
  else b.codes = Tensor();
  uint64_t* off = offset_ptr(st.offset);
  float* codes = C > 0 ? b.codes.data<float>() : nullptr;
  if (dev == Device::cpu) {
    cpu::draw_latents(z.data<float>(), labels.data<int32_t>(), codes, off, st.seed, B, K, C, Z);
    cpu::advance_offset(off, latent_words(cfg, B));
    return;
  }
  on_cuda("draw_latents", z, [&]<class>() {
    cuda::draw_latents(z.data<float>(), labels.data<int32_t>(), codes, off, st.seed, B, K, C, Z);
    cuda::advance_offset(off, latent_words(cfg, B));
  });
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
  b.dropout_key = dropout_key(rng.seed(), rng.offset());
}

uint64_t dropout_key(uint64_t seed, uint64_t offset) {
  return splitmix64(seed ^ splitmix64(offset ^ 0x64726f706f7574ull));
}

namespace {
// The D step's and the G step's dropout streams: one key each, so their masks are independent.
Philox dropout_stream(const StepBatch& b, uint64_t step) { return Philox(splitmix64(b.dropout_key ^ step)); }
}  // namespace

GForward g_forward(const Generator& G, const StepBatch& b) {
  NVTX_SCOPE("g_forward");
  GForward gf;
  gf.fake = G.forward(&gf.tape, b.z, BnMode::train);
  return gf;
}

// Below 64 images the convolutions run faster on twice the batch (the paper's width,
// batch 16, 64x64: D's convolutions 4-8 ms less of a 400 ms iteration); from 64 on they
// gain nothing and the larger tensors fall out of the caches between ops.
bool d_joins_batches(const ModelConfig& m, int64_t batch, bool sync_bn) {
  if (m.d_dropout > 0 || sync_bn) return false;
  static const char* env = std::getenv("COVERGAN_D_PAIR");
  if (env && std::strcmp(env, "on") == 0) return true;
  if (env && std::strcmp(env, "off") == 0) return false;
  return batch < 64;
}

void d_step(Discriminator& D, const StepBatch& b, const Tensor& g_out, const LossConfig& lc, IterationState& st,
            TapeGraph* graph) {
  NVTX_SCOPE("d_backward");
  const int64_t B = b.z.dim(0);
  CG_CHECK(b.real.defined() && b.real.dim(0) == B, "d_backward: real batch ",
           b.real.defined() ? b.real.shape().str() : "undefined", " for ", B, " latent vectors");
  check_shape("d_backward", "fake batch", g_out, b.real.shape());
  if (lc.genre_terms) {
    check_shape("d_backward", "real labels", b.real_labels, Shape{B});
    check_shape("d_backward", "fake labels", b.fake_labels, Shape{B});
  }
  D.params().set_requires_grad(true);
  D.params().zero_grad();
  const Tensor fake = g_out.detach();  // G gets no gradient here; the G step sweeps G's tape
  const DType dt = fake.dtype();
  const Tensor ones = Tensor::full(Shape{B, 1}, lc.real_label, dt, fake.device());
  const Tensor zeros = Tensor::zeros(Shape{B, 1}, dt, fake.device());
  Tape tape;
  Philox drop = dropout_stream(b, 1);
  const Tensor real_in = d_input(&tape, b.real, b.real_in), fake_in = d_input(&tape, fake, b.fake_in_d);
  DOut r, f;
  Tensor both;
  if (d_joins_batches(D.config(), B, sync_batch_norm_comm() != nullptr)) {
    both = concat_batch(&tape, {real_in, fake_in});
    std::tie(r, f) = D.forward_halves(&tape, both, BnMode::train);
  } else {
    r = D.forward(&tape, real_in, BnMode::train, &drop);
    f = D.forward(&tape, fake_in, BnMode::train, &drop);
  }
  Tensor src_r, src_f, cls_r, cls_f, code, total;
  {
    NVTX_LAYER("D.loss", "forward");  // every loss term and their sum: one profile row
    src_r = bce_with_logits(&tape, r.src, ones), src_f = bce_with_logits(&tape, f.src, zeros);
    std::vector<std::pair<Tensor, double>> terms{{src_r, 1.0}, {src_f, 1.0}};
    if (lc.genre_terms) {
      cls_r = cross_entropy(&tape, r.cls, b.real_labels);
      cls_f = cross_entropy(&tape, f.cls, b.fake_labels);
      terms.push_back({cls_r, 1.0});
      terms.push_back({cls_f, lc.d_fake_genre_weight});
    }
    if (f.code.defined()) {
      code = mse(&tape, f.code, b.codes);
      terms.push_back({code, lc.lambda_code});
    }
    total = sum_terms(tape, terms);
  }
  if (graph)
    *graph = TapeGraph::of(tape, "D step",
                           {{b.real, "real images"}, {fake, "G(z), read detached: no gradient to G"},
                            {both, "real images, then G(z) read detached: one batch"},
                            {ones, "targets 1"}, {zeros, "targets 0"}, {b.real_labels, "real genres"},
                            {b.fake_labels, "drawn genres"}, {b.codes, "drawn codes c"}, {src_r, "d_src_real"},
                            {src_f, "d_src_fake"}, {cls_r, "d_cls_real"}, {cls_f, "d_cls_fake"}, {code, "d_code"},
                            {total, "d_total"}});
  tape.backward(total);
  if (graph) graph->capture_values();
  if (dt != DType::f32) return;  // f64 gradient checks: no statistics vector
  const common::LossTerms lt{{value_or_null(total), value_or_null(src_r), value_or_null(src_f), value_or_null(cls_r),
                              value_or_null(cls_f), value_or_null(code)},
                             {common::kDTotal, common::kDSrcReal, common::kDSrcFake, common::kDClsReal,
                              common::kDClsFake, common::kDCode},
                             6};
  const common::BatchLogits lg{r.src.data<float>(),
                               f.src.data<float>(),
                               lc.genre_terms ? r.cls.data<float>() : nullptr,
                               lc.genre_terms ? f.cls.data<float>() : nullptr,
                               lc.genre_terms ? b.real_labels.data<int32_t>() : nullptr,
                               lc.genre_terms ? b.fake_labels.data<int32_t>() : nullptr,
                               B,
                               r.cls.dim(1)};
  record_stats(st, lt, lg);
}

void g_step(Generator& G, Discriminator& D, const StepBatch& b, GForward& gf, const LossConfig& lc,
            IterationState& st, TapeGraph* graph) {
  NVTX_SCOPE("g_backward");
  CG_CHECK(gf.fake.defined() && !gf.tape.consumed(), "g_backward: needs a fresh G forward (g_forward) of this batch");
  G.params().zero_grad();
  D.params().set_requires_grad(false);  // D's weight gradients are skipped, its input's kept
  Tape& tape = gf.tape;
  const Tensor& fake = gf.fake;
  Philox drop = dropout_stream(b, 2);
  const DOut f = D.forward(&tape, d_input(&tape, fake, b.fake_in_g), BnMode::train, &drop);
  const int64_t B = b.z.dim(0);
  const Tensor ones = Tensor::full(Shape{B, 1}, 1.0, fake.dtype(), fake.device());
  Tensor src, cls, code, spec, total;
  {
    NVTX_LAYER("G.loss", "forward");
    src = bce_with_logits(&tape, f.src, ones);  // non-saturating: fake labelled real
    std::vector<std::pair<Tensor, double>> terms{{src, 1.0}};
    if (lc.genre_terms) {
      cls = cross_entropy(&tape, f.cls, b.fake_labels);
      terms.push_back({cls, lc.g_genre_weight});
    }
    if (f.code.defined()) {
      code = mse(&tape, f.code, b.codes);
      terms.push_back({code, lc.lambda_code});
    }
    if (lc.genre_terms && lc.spectral_weight > 0) {
      spec = spectral_loss(&tape, fake, b.fake_labels, lc.spectral_target, lc.spectral_first_ring, lc.spectral_eps);
      terms.push_back({spec, lc.spectral_weight});
    }
    total = sum_terms(tape, terms);
  }
  if (graph)
    *graph = TapeGraph::of(tape, "G step",
                           {{b.z, "z = [genre | codes | noise]"}, {fake, "G(z)"}, {ones, "targets 1"},
                            {b.fake_labels, "drawn genres"}, {b.codes, "drawn codes c"}, {src, "g_src"},
                            {cls, "g_cls"}, {code, "g_code"}, {spec, "g_spectral"},
                            {lc.spectral_target, "ln ring power per genre of the real covers"}, {total, "g_total"}});
  try {
    tape.backward(total);
  } catch (...) {
    D.params().set_requires_grad(true);
    throw;
  }
  D.params().set_requires_grad(true);
  if (graph) graph->capture_values();
  if (fake.dtype() != DType::f32) return;
  const common::LossTerms lt{
      {value_or_null(total), value_or_null(src), value_or_null(cls), value_or_null(code), value_or_null(spec)},
      {common::kGTotal, common::kGSrc, common::kGCls, common::kGCode, common::kGSpectral},
      5};
  record_stats(st, lt, common::BatchLogits{});
}

void enqueue_iteration(Generator& G, Discriminator& D, Adam& opt_g, Adam& opt_d, StepBatch& b, const LossConfig& lc,
                       IterationState& st) {
  NVTX_SCOPE("train_step");
  draw_latents(st, G.config(), b.real.dim(0), b);
  GForward gf = g_forward(G, b);
  d_step(D, b, gf.fake, lc, st);
  adam_step(opt_d, st, "D.adam");
  g_step(G, D, b, gf, lc, st);
  adam_step(opt_g, st, "G.adam");
}

namespace {

// A scratch state for the host views; its stream is unused (their latents come drawn).
IterationState scratch_state(const StepBatch& b) { return IterationState(b.z.device(), 0, 0); }

// f64 runs (gradient checks) have no statistics vector: the loss terms are read here.
bool is_f32(const StepBatch& b) { return b.z.dtype() == DType::f32; }

}  // namespace

void d_backward(Discriminator& D, const StepBatch& b, const Tensor& fake, const LossConfig& lc, StepStats& stats,
                TapeGraph* graph) {
  IterationState st = scratch_state(b);
  d_step(D, b, fake, lc, st, graph);
  if (!is_f32(b)) return;
  const StepStats s = st.read();
  stats.d_total = s.d_total, stats.d_src_real = s.d_src_real, stats.d_src_fake = s.d_src_fake;
  stats.d_cls_real = s.d_cls_real, stats.d_cls_fake = s.d_cls_fake, stats.d_code = s.d_code;
  stats.d_real = s.d_real, stats.d_fake = s.d_fake, stats.acc_real = s.acc_real, stats.acc_fake = s.acc_fake;
  stats.halted = s.halted;
}

void g_backward(Generator& G, Discriminator& D, const StepBatch& b, GForward& gf, const LossConfig& lc,
                StepStats& stats, TapeGraph* graph) {
  IterationState st = scratch_state(b);
  g_step(G, D, b, gf, lc, st, graph);
  if (!is_f32(b)) return;
  const StepStats s = st.read();
  stats.g_total = s.g_total, stats.g_src = s.g_src, stats.g_cls = s.g_cls, stats.g_code = s.g_code;
  stats.g_spectral = s.g_spectral;
  stats.halted = stats.halted ? stats.halted : s.halted;
}

void d_backward(Generator& G, Discriminator& D, const StepBatch& b, const LossConfig& lc, StepStats& stats,
                TapeGraph* graph) {
  d_backward(D, b, G.forward(nullptr, b.z, BnMode::train), lc, stats, graph);  // no tape: G gets no gradient
}

void g_backward(Generator& G, Discriminator& D, const StepBatch& b, const LossConfig& lc, StepStats& stats,
                TapeGraph* graph) {
  GForward gf = g_forward(G, b);
  g_backward(G, D, b, gf, lc, stats, graph);
}

StepStats train_step(Generator& G, Discriminator& D, Adam& opt_g, Adam& opt_d, const StepBatch& b,
                     const LossConfig& lc) {
  NVTX_SCOPE_FN();
  cpu::adapt_threads();  // the CPU pool shares finer while other programs keep CPUs busy
  IterationState st = scratch_state(b);
  GForward gf = g_forward(G, b);
  d_step(D, b, gf.fake, lc, st);
  adam_step(opt_d, st, "D.adam");
  g_step(G, D, b, gf, lc, st);
  adam_step(opt_g, st, "G.adam");
  const StepStats s = st.read();
  if (s.halted) throw NonFiniteLoss(halted_term(s.halted), halted_value(s));
  return s;
}

}  // namespace cg::gan
