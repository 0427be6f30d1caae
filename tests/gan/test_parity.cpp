// Parity with PyTorch (bench/peers/acgan_torch.py): from identical weights and
// inputs, saved by our engine as safetensors, two full AC-GAN iterations (D step,
// G step, both Adam updates) in our CPU engine and in PyTorch must agree in every
// loss term, every parameter gradient, every updated parameter and every BatchNorm
// running statistic. Also: the peer loads our checkpoint and generates the same images.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>

#include "gan/acgan.h"
#include "gan/checkpoint.h"
#include "gan/sampler.h"
#include "gan_util.h"
#include "support/check.h"
#include "support/paths.h"
#include "support/skip.h"

using namespace cg;
using namespace cg::gan;

namespace {

std::string peer() { return cgtest::source_dir() + "/bench/peers/acgan_torch.py"; }

// The python3 that runs the peer, or "" when the test skips. Without torch the test
// fails (scripts/deps.sh installs python3-torch), unless the run says torch is optional
// (COVERGAN_TORCH_OPTIONAL=1: scripts/gpu-check on a machine without it): then it skips.
std::string python_or_skip() {
  const cgtest::Python& py = cgtest::python_with_torch();
  if (py.path.empty() && cgtest::torch_optional()) {
    cgtest::note_skipped(py.reason);
    return "";
  }
  if (py.path.empty()) FAIL(py.reason << ": the PyTorch parity tests cannot run without them");
  REQUIRE_MESSAGE(std::filesystem::exists(peer()), "the PyTorch peer " << peer()
                                                    << " is missing: set COVERGAN_SOURCE_DIR to the source tree");
  return cgtest::shell_quote(py.path);
}

struct ParityCase {
  ModelConfig model;
  int batch = 4;
  bool genre_terms = true;
  int iters = 2;
  double lr_g = 2e-4, lr_d = 2e-4;
  uint64_t seed = 11;
  double lambda_code = 1.0;  // weight of the code term in both losses
};

using TensorMap = std::map<std::string, Tensor>;

// Adds the state an iteration starts from under prefix: weights, buffers and each
// parameter's Adam moments (slices of the flat moment buffers) with the step count.
void add_state(std::vector<std::pair<std::string, Tensor>>& in, const std::string& prefix, ParamStore& ps,
               Adam& opt, const char* which) {
  const float* base = ps.flat().data<float>();
  for (const Tensor& t : ps.params()) {
    in.emplace_back(prefix + "state." + t.name(), t.clone());
    const int64_t off = t.data<float>() - base;
    in.emplace_back(prefix + "adam." + which + ".m." + t.name(), opt.m().slice_view(off, t.shape()).clone());
    in.emplace_back(prefix + "adam." + which + ".v." + t.name(), opt.v().slice_view(off, t.shape()).clone());
  }
  for (const Tensor& t : ps.buffers()) in.emplace_back(prefix + "state." + t.name(), t.clone());
}

// Our side: runs the iterations, returns what the peer also writes, and fills `in`
// with the weights and inputs for the peer. Iteration k >= 1 also carries the state
// our engine starts it from: the peer starts there too, so each iteration is compared
// from identical weights, running statistics and Adam moments. (Run freely, two
// float32 engines part ways after one step: Adam moves a weight by about lr whatever
// its gradient's size, so a gradient at float32 zero gets an update of either sign,
// and the next gradients, through the curvature, differ by ~1e-3.)
TensorMap run_ours(const ParityCase& pc, std::vector<std::pair<std::string, Tensor>>& in) {
  const ModelConfig& m = pc.model;
  Generator G(m, Device::cpu);
  Discriminator D(m, Device::cpu);
  Philox init(pc.seed);
  G.init(init);
  D.init(init);
  for (ParamStore* ps : {&G.params(), &D.params()}) {
    for (const Tensor& t : ps->params()) in.emplace_back(t.name(), t.clone());
    for (const Tensor& t : ps->buffers()) in.emplace_back(t.name(), t.clone());
  }
  Adam opt_g(G.params(), AdamConfig{pc.lr_g, 0.5, 0.999, 1e-8});
  Adam opt_d(D.params(), AdamConfig{pc.lr_d, 0.5, 0.999, 1e-8});
  Philox rng(pc.seed + 1);
  TensorMap out;
  const int64_t B = pc.batch, S = m.image_size;
  for (int k = 0; k < pc.iters; ++k) {
    const std::string p = "it" + std::to_string(k) + ".";
    if (k > 0) {
      add_state(in, p, G.params(), opt_g, "G");
      add_state(in, p, D.params(), opt_d, "D");
    }
    StepBatch b;
    b.real = Tensor::empty(Shape{B, 3, S, S});
    rng.uniform(b.real, -1.0, 1.0);
    std::vector<int32_t> labels;
    for (int64_t i = 0; i < B; ++i) labels.push_back(int32_t(rng.next_below(m.num_genres)));
    b.real_labels = Tensor::from_labels(labels);
    draw_latents(rng, m, B, Device::cpu, DType::f32, b);
    for (auto [name, t] : {std::pair{"real", b.real}, {"real_labels", b.real_labels}, {"z", b.z},
                           {"fake_labels", b.fake_labels}, {"codes", b.codes}})
      if (t.defined()) in.emplace_back(p + name, t.clone());
    const LossConfig lc{pc.genre_terms, pc.lambda_code};
    StepStats st;
    GForward gf = g_forward(G, b);  // once, as train_step and the peer run it
    d_backward(D, b, gf.fake, lc, st);
    for (const Tensor& t : D.params().params()) out[p + "grad." + t.name()] = t.grad().clone();
    opt_d.step();
    g_backward(G, D, b, gf, lc, st);
    for (const Tensor& t : G.params().params()) out[p + "grad." + t.name()] = t.grad().clone();
    opt_g.step();
    for (ParamStore* ps : {&G.params(), &D.params()}) {
      for (const Tensor& t : ps->params()) out[p + "param." + t.name()] = t.clone();
      for (const Tensor& t : ps->buffers()) out[p + "buffer." + t.name()] = t.clone();
    }
    // The Adam moments after the step: what the next iteration starts from.
    std::vector<std::pair<std::string, Tensor>> moments;
    add_state(moments, p, G.params(), opt_g, "G");
    add_state(moments, p, D.params(), opt_d, "D");
    for (auto& [name, t] : moments)
      if (name.find(".adam.") != std::string::npos) out[name] = t;
    std::vector<std::pair<const char*, double>> losses{
        {"d_total", st.d_total}, {"d_src_real", st.d_src_real}, {"d_src_fake", st.d_src_fake},
        {"g_total", st.g_total}, {"g_src", st.g_src}};
    if (pc.genre_terms)
      for (auto l : std::vector<std::pair<const char*, double>>{
               {"d_cls_real", st.d_cls_real}, {"d_cls_fake", st.d_cls_fake}, {"g_cls", st.g_cls}})
        losses.push_back(l);
    if (m.n_codes > 0) losses.push_back({"d_code", st.d_code}), losses.push_back({"g_code", st.g_code});
    for (auto [name, v] : losses) out[p + "loss." + name] = Tensor::from({v}, Shape{1});
  }
  return out;
}

// |ours - torch| <= atol + rtol*|torch| per element, atol a small fraction of the
// tensor's largest magnitude (float32 sums in another order differ in the last bits).
// Adam's first steps move a weight by about +-lr whatever the gradient's size, so where
// a gradient is indistinguishable from zero at float32 precision its update's sign is
// not determined: those elements (counted and reported) may differ by 2*lr per step.
struct Verdict {
  bool ok = true;
  std::string worst;
  double worst_excess = -1;
  int64_t ambiguous = 0;
  double worst_nmse = 0;  // of the tensors compared as wholes (compare_whole)
  std::string failing;  // "name: k of n elements" per tensor that fails
};

// Element i of a host tensor as a double (f32 read in place: the paper-size tensors are large).
struct Elems {
  const float* f = nullptr;
  std::vector<double> d;
  explicit Elems(const Tensor& t) {
    if (t.dtype() == DType::f32 && t.device() == Device::cpu)
      f = t.data<float>();
    else
      d = t.to_vector();
  }
  double operator[](size_t i) const { return f ? double(f[i]) : d[i]; }
};

void compare_into(Verdict& v, const std::string& name, const Tensor& ours, const Tensor& ref, double rtol,
                  double atol_frac, const std::vector<double>* slack, double atol_abs = 0) {
  if (ours.numel() != ref.numel()) {
    v.ok = false;
    v.worst = name + ": sizes differ";
    return;
  }
  const Elems a(ours), b(ref);
  const size_t n = size_t(ref.numel());
  double scale = 0;
  for (size_t i = 0; i < n; ++i) scale = std::max(scale, std::fabs(b[i]));
  const double atol = atol_frac * scale + atol_abs + 1e-30;
  int64_t bad = 0;
  for (size_t i = 0; i < n; ++i) {
    const double diff = std::fabs(a[i] - b[i]), base = atol + rtol * std::fabs(b[i]);
    const double s = slack ? (*slack)[i] : 0.0, allowed = base + s;
    if (s > 0 && diff > base) ++v.ambiguous;
    const double excess = (diff - allowed) / base;
    if (excess > v.worst_excess || std::isnan(diff)) {
      v.worst_excess = std::isnan(diff) ? INFINITY : excess;
      std::ostringstream os;
      os << name << "[" << i << "]: ours " << a[i] << " torch " << b[i] << " |diff| " << diff << " allowed "
         << allowed;
      v.worst = os.str();
    }
    if (!(diff <= allowed)) v.ok = false, ++bad;
  }
  if (bad > 0) v.failing += "\n  " + name + ": " + std::to_string(bad) + " of " + std::to_string(n);
}

// Whole-tensor error sum (a-b)^2 / sum b^2, in double (ggml's NMSE).
double nmse(const Tensor& ours, const Tensor& ref) {
  const Elems a(ours), b(ref);
  double num = 0, den = 0;
  for (size_t i = 0; i < size_t(ref.numel()); ++i) num += (a[i] - b[i]) * (a[i] - b[i]), den += b[i] * b[i];
  return den > 0 ? num / den : num;
}

// After an iteration whose Adam updates needed the sign slack, the two models no longer hold
// the same weights (those elements sit 2 lr apart), and every later gradient, moment and
// update differs from the peer's by the propagated difference, element by element without
// bound (a batch-2 BatchNorm amplifies it). Those tensors are compared as wholes instead:
// NMSE at most kChaoticNmse (this happens at about 7e-7), where a wrong op, sign or scale
// gives 1e-2 or more.
constexpr double kChaoticNmse = 1e-5;
void compare_whole(Verdict& v, const std::string& name, const Tensor& ours, const Tensor& ref) {
  const double e = ours.numel() == ref.numel() ? nmse(ours, ref) : INFINITY;
  if (e > v.worst_nmse || std::isnan(e)) v.worst_nmse = std::isnan(e) ? INFINITY : e;
  if (!(e <= kChaoticNmse)) {
    v.ok = false;
    std::ostringstream os;
    os << "\n  " << name << ": NMSE " << e << " > " << kChaoticNmse;
    v.failing += os.str();
  }
}

// The model as the peer builds it: our shape, but the paper's LeakyReLU slope and
// BatchNorm momentum and eps pinned here, not read from our config, so a wrong default
// in gan/config.h (0.2 -> 0.1, say) makes the two sides differ instead of sharing it.
nlohmann::json peer_model(const ModelConfig& m) {
  nlohmann::json j = to_json(m);
  j["leaky_slope"] = 0.2;
  j["bn_momentum"] = 0.1;
  j["bn_eps"] = 1e-5;
  return j;
}

// Each iteration's extra gradient atol ("it0." -> a fraction of each tensor's largest magnitude).
std::map<std::string, double> kink_allowance(const SafeTensors& torch, int iters) {
  // A pre-activation within a few ulps of the ReLU / LeakyReLU kink may fall on the other
  // side in the other engine, and then one batch position's term of a weight gradient
  // differs (for a conv weight, one of B*H*W terms). The peer counts such elements per
  // iteration (acgan_torch.py near_kink); where there are any, that iteration's gradients
  // and Adam moments are compared with atol widened by 1e-3 of the tensor's largest
  // magnitude per such element (at most 5e-3), and the test says so. Losses, buffers and
  // updated weights stay tight.
  std::map<std::string, double> kink_atol;
  for (int k = 0; k < iters; ++k) {
    const std::string p = "it" + std::to_string(k) + ".";
    auto it = torch.tensors.find(p + "kinks");
    REQUIRE_MESSAGE(it != torch.tensors.end(), "the peer did not count the kinks of iteration " << k);
    const double n = it->second.to_vector().at(0);
    kink_atol[p] = std::min(1e-3 * n, 5e-3);  // capped: many kinks must not switch the comparison off
    if (n > 0) MESSAGE("iteration " << k << ": " << n << " pre-activations within 4 ulps of a ReLU kink: its "
                                    << "gradients and moments are compared with atol +" << kink_atol[p]
                                    << " of each tensor's largest magnitude");
  }
  return kink_atol;
}

// The peer's run of the case: our inputs and the case's settings saved, the PyTorch script
// run on them, its outputs read back. in holds our run's inputs (run_ours filled it).
SafeTensors run_peer(const std::string& python, const ParityCase& pc, gantest::Scratch& dir,
                     const std::vector<std::pair<std::string, Tensor>>& in, const TensorMap& ours) {
  const std::map<std::string, std::string> meta{
      {"model", peer_model(pc.model).dump()}, {"iters", std::to_string(pc.iters)},
      {"genre_terms", pc.genre_terms ? "1" : "0"}, {"lambda_code", std::to_string(pc.lambda_code)},
      {"lr_g", std::to_string(pc.lr_g)},     {"lr_d", std::to_string(pc.lr_d)},
      {"beta1", "0.5"}, {"beta2", "0.999"},  {"eps", "1e-8"}};
  save_safetensors(dir / "in.safetensors", in, meta);
  if (std::getenv("COVERGAN_KEEP_SCRATCH")) {  // debugging: our side too, for a look in Python
    std::vector<std::pair<std::string, Tensor>> mine(ours.begin(), ours.end());
    save_safetensors(dir / "ours.safetensors", mine);
  }
  const std::string cmd = python + " " + cgtest::shell_quote(peer()) + " parity " + (dir / "in.safetensors") + " " +
                          (dir / "out.safetensors") + " > " + (dir / "peer.log") + " 2>&1";
  const int rc = std::system(cmd.c_str());
  INFO("peer output: " << gantest::slurp(dir / "peer.log"));
  REQUIRE(rc == 0);
  return load_safetensors(dir / "out.safetensors");
}

// The comparison of one parity run, by kind of tensor.
struct Verdicts {
  Verdict losses, grads, params, buffers, moments;
  // Per "itK.param": where the peer's gradient is at float32 resolution of its tensor,
  // Adam's sign may differ, so the update may differ by up to 2 lr.
  std::map<std::string, std::vector<double>> slack;
};

constexpr double kGradAtol = 3e-5;  // of the tensor's largest |gradient|: float32 sums over ~1e5 terms

bool has(const std::string& name, const char* part) { return name.find(part) != std::string::npos; }

// The sign slack of the parameter whose gradient (the peer's) is ref.
void note_slack(Verdicts& v, const ParityCase& pc, const std::string& name, const Tensor& ref) {
  const std::string pname = name.substr(name.find(".grad.") + 6);
  auto& s = v.slack[name.substr(0, name.find(".grad.")) + "." + pname];
  const Elems g(ref);
  const size_t n = size_t(ref.numel());
  double scale = 0;
  for (size_t i = 0; i < n; ++i) scale = std::max(scale, std::fabs(g[i]));
  s.assign(n, 0.0);
  const double lr = pname[0] == 'G' ? pc.lr_g : pc.lr_d;
  for (size_t i = 0; i < n; ++i)
    if (std::fabs(g[i]) <= 2 * kGradAtol * scale + 1e-30) s[i] = 2.0 * lr;
}

// One tensor of ours against the peer's, by its kind; whole: as a whole tensor (NMSE), once
// an earlier iteration needed the sign slack and the runs may have parted.
void compare_tensor(Verdicts& v, const ParityCase& pc, const std::string& name, const Tensor& t, const Tensor& ref,
                    double rtol, double kink, bool whole) {
  if (whole && !has(name, ".loss.")) {
    compare_whole(has(name, ".adam.") ? v.moments : has(name, ".grad.") ? v.grads
                  : has(name, ".param.") ? v.params : v.buffers, name, t, ref);
  } else if (has(name, ".adam.")) {
    // m ~ g and v ~ g^2: v's relative error is twice the gradient's.
    compare_into(v.moments, name, t, ref, 2 * rtol, (has(name, ".v.") ? 1e-4 : kGradAtol) + kink, nullptr);
  } else if (has(name, ".loss.")) {
    compare_into(v.losses, name, t, ref, rtol, 0.0, nullptr);
  } else if (has(name, ".grad.")) {
    compare_into(v.grads, name, t, ref, rtol, kGradAtol + kink, nullptr);
    note_slack(v, pc, name, ref);
  } else if (has(name, ".param.")) {
    const size_t at = name.find(".param.");
    // An Adam update is about lr in size and inherits the relative error of a small
    // gradient: updates must agree to 0.1% of lr on top of the relative tolerance.
    const double lr = name[at + 7] == 'G' ? pc.lr_g : pc.lr_d;
    compare_into(v.params, name, t, ref, rtol, 1e-6, &v.slack[name.substr(0, at) + "." + name.substr(at + 7)],
                 1e-3 * lr);
  } else {
    compare_into(v.buffers, name, t, ref, rtol, 1e-5, nullptr);
  }
}

void check_parity(const ParityCase& pc, double rtol) {
  const std::string python = python_or_skip();
  if (python.empty()) return;
  gantest::Scratch dir("parity");
  std::vector<std::pair<std::string, Tensor>> in;
  const TensorMap ours = run_ours(pc, in);
  const SafeTensors torch = run_peer(python, pc, dir, in, ours);
  Verdicts v;
  const std::map<std::string, double> kink_atol = kink_allowance(torch, pc.iters);
  int64_t slack_used_before = 0;  // sign-slack updates in the iterations before this one
  std::string iteration = "it0.";
  for (const auto& [name, t] : ours) {  // sorted: it0.* before it1.*
    INFO(name);
    const std::string prefix = name.substr(0, name.find('.') + 1);
    if (prefix != iteration) iteration = prefix, slack_used_before = v.params.ambiguous;
    auto it = torch.tensors.find(name);
    REQUIRE_MESSAGE(it != torch.tensors.end(), "the peer did not write " << name);
    compare_tensor(v, pc, name, t, it->second, rtol, kink_atol.at(prefix), slack_used_before > 0);
  }
  if (slack_used_before > 0)
    MESSAGE("after " << slack_used_before << " sign-slack updates, later iterations compared as whole tensors: "
            << "worst NMSE grads " << v.grads.worst_nmse << ", params " << v.params.worst_nmse << ", moments "
            << v.moments.worst_nmse << ", buffers " << v.buffers.worst_nmse << " (limit " << kChaoticNmse << ")");
  MESSAGE("losses:  worst " << v.losses.worst);
  MESSAGE("grads:   worst " << v.grads.worst);
  MESSAGE("params:  worst " << v.params.worst << " (" << v.params.ambiguous << " updates needed Adam's sign slack)");
  MESSAGE("buffers: worst " << v.buffers.worst);
  MESSAGE("Adam moments: worst " << v.moments.worst);
  CHECK_MESSAGE(v.losses.ok, "loss terms differ: " << v.losses.worst << v.losses.failing);
  CHECK_MESSAGE(v.grads.ok, "gradients differ: " << v.grads.worst << v.grads.failing);
  CHECK_MESSAGE(v.params.ok, "updated parameters differ: " << v.params.worst << v.params.failing);
  CHECK_MESSAGE(v.buffers.ok, "BatchNorm running statistics differ: " << v.buffers.worst << v.buffers.failing);
  CHECK_MESSAGE(v.moments.ok, "Adam moments differ: " << v.moments.worst << v.moments.failing);
}

ModelConfig small_model() {
  ModelConfig m;
  m.image_size = 16;
  m.base_channels = 8;
  m.num_genres = 3;
  m.z_dim = 20;
  return m;
}

}  // namespace

TEST_CASE("parity with PyTorch: small model, fine-tuning losses, two iterations") {
  ParityCase pc;
  pc.model = small_model();
  pc.batch = 4;
  check_parity(pc, 1e-4);
}

TEST_CASE("parity with PyTorch: small model, pretraining losses (no genre terms), 32x32") {
  ParityCase pc;
  pc.model = small_model();
  pc.model.image_size = 32;
  pc.genre_terms = false;
  pc.batch = 3;
  pc.lr_g = 0.002;
  pc.lr_d = 0.001;
  check_parity(pc, 1e-4);
}

TEST_CASE("parity with PyTorch: small model, code-loss weight lambda 2.5 in both steps") {
  ParityCase pc;  // lambda 1 hides a step that ignores it: here the D and G code terms weigh 2.5
  pc.model = small_model();
  pc.batch = 4;
  pc.lambda_code = 2.5;
  pc.seed = 23;
  check_parity(pc, 1e-4);
}

TEST_CASE("the default model has the paper's constants: LeakyReLU 0.2, BatchNorm momentum 0.1 and eps 1e-5, init N(0, 0.02)") {
  // Pinned here as numbers from Hepburn et al. 2017 / DCGAN, not read from gan/config.h.
  const ModelConfig m;
  CHECK(m.leaky_slope == 0.2);
  CHECK(m.bn_momentum == 0.1);
  CHECK(m.bn_eps == 1e-5);
  CHECK(m.init_std == 0.02);
  CHECK(m.image_size == 64);
  CHECK(m.base_channels == 128);
  CHECK(m.z_dim == 100);
  // What the default model does, measured: G's and D's weights have standard deviation
  // 0.02 (about a million draws each), their BatchNorm layers momentum 0.1 and eps 1e-5.
  Generator G(m, Device::cpu);
  Discriminator D(m, Device::cpu);
  Philox init(3);
  G.init(init);
  D.init(init);
  for (ParamStore* ps : {&G.params(), &D.params()}) {
    double sum = 0, sq = 0, n = 0;
    for (const Tensor& t : ps->params()) {
      if (t.name().find("weight") == std::string::npos || t.name().find("bn") != std::string::npos) continue;
      for (double v : t.to_vector()) sum += v, sq += v * v, ++n;
    }
    REQUIRE(n > 1e5);
    const double sd = std::sqrt(sq / n - (sum / n) * (sum / n));
    INFO("weights' standard deviation " << sd << " over " << n);
    CHECK(std::fabs(sd - 0.02) < 0.0002);
  }
  // The slope and BatchNorm settings are what the model uses: the parity cases build the
  // peer with 0.2, 0.1 and 1e-5 written into it (peer_model), and compare every layer.
  const ModelConfig small = small_model();
  CHECK(small.leaky_slope == 0.2);
  CHECK(small.bn_momentum == 0.1);
  CHECK(small.bn_eps == 1e-5);
}

TEST_CASE("parity with PyTorch: the paper's architecture (64x64, 128 base channels), batch 2 (slow)") {
  ParityCase pc;  // ModelConfig defaults are the paper's
  pc.batch = 2;
  pc.lr_g = 1e-5;
  pc.lr_d = 2e-5;
  check_parity(pc, 1e-4);
}

TEST_CASE("the PyTorch peer loads our checkpoint and generates the same images") {
  const std::string python = python_or_skip();
  if (python.empty()) return;
  gantest::Scratch dir("peergen");
  ModelConfig m = small_model();
  TrainConfig cfg;
  cfg.model = m;
  cfg.genres = {"jazz", "rock", "rap"};
  Generator G(m, Device::cpu);
  Discriminator D(m, Device::cpu);
  Philox init(5);
  G.init(init);
  D.init(init);
  // Move the running statistics off their initial values so eval mode is tested for real.
  Philox rl(9);
  const Latents warm = draw_latents_for(m, {0, 1, 2, 0, 1, 2}, rl);
  G.forward(nullptr, make_generator_input(m, warm.genres, warm.codes, warm.noise), BnMode::train);
  save_checkpoint(dir / "ck.safetensors", cfg, G, &D, nullptr, nullptr, TrainState{});
  Philox rng(3);
  const Latents l = draw_latents_for(m, {0, 1, 2, 2, 1}, rng);
  save_safetensors(dir / "z.safetensors", {{"z", make_generator_input(m, l.genres, l.codes, l.noise)}});
  for (const bool eval : {false, true}) {
    const std::string cmd = python + " " + cgtest::shell_quote(peer()) + " generate --ckpt " + (dir / "ck.safetensors") +
                            " --input " + (dir / "z.safetensors") + (eval ? " --bn-eval" : "") + " -o " +
                            (dir / "img.safetensors") + " > " + (dir / "peer.log") + " 2>&1";
    INFO("bn-eval " << eval << "; peer output: " << gantest::slurp(dir / "peer.log"));
    REQUIRE(std::system(cmd.c_str()) == 0);
    const Tensor ref = load_safetensors(dir / "img.safetensors").tensors.at("images");
    const Tensor ours = generate(G, l, eval ? BnMode::eval : BnMode::batch);
    CHECK_CLOSE_T(ours, ref, 1e-5, 1e-4);
  }
}
