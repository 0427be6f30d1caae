// ModelConfig / TrainConfig: validation and the JSON mapping (see config.h).
#include "gan/config.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <type_traits>
#include <map>
#include <sstream>

#include "kernels/common/spectral.h"
#include "base/check.h"
#include "engine/io_util.h"
#include "layers/diff_augment.h"

namespace cg::gan {

int ModelConfig::n_layers() const {
  int n = 0;
  for (int s = image_size; s > 4; s /= 2) ++n;
  return n;
}

int64_t ModelConfig::top_channels() const { return int64_t(base_channels) << (n_layers() - 1); }

void ModelConfig::validate() const {
  CG_USER_CHECK(image_size == 16 || image_size == 32 || image_size == 64 || image_size == 128,
                "The image size must be 16, 32, 64 or 128, got ", image_size, ".");
  CG_USER_CHECK(base_channels >= 1 && base_channels <= 4096, "base_channels must be between 1 and 4096, got ",
                base_channels, ".");
  CG_USER_CHECK(num_genres >= 1 && num_genres <= 1000, "The number of genres must be between 1 and 1000, got ",
                num_genres, ".");
  CG_USER_CHECK(n_codes >= 0 && n_codes <= 64, "n_codes must be between 0 and 64, got ", n_codes, ".");
  CG_USER_CHECK(noise_dim() >= 1, "z_dim (", z_dim, ") must exceed the genres (", num_genres, ") plus the codes (",
                n_codes, ") so that some noise remains.");
  CG_USER_CHECK(init_std > 0 && std::isfinite(init_std), "init_std must be positive, got ", init_std, ".");
  CG_USER_CHECK(leaky_slope >= 0 && leaky_slope < 1, "leaky_slope must be in [0, 1), got ", leaky_slope, ".");
  CG_USER_CHECK(bn_momentum > 0 && bn_momentum <= 1, "bn_momentum must be in (0, 1], got ", bn_momentum, ".");
  CG_USER_CHECK(bn_eps > 0, "bn_eps must be positive, got ", bn_eps, ".");
  CG_USER_CHECK(d_dropout >= 0 && d_dropout < 1, "d_dropout must be in [0, 1), got ", d_dropout, ".");
}

int64_t ModelConfig::generator_params() const {
  const int L = n_layers();
  const int64_t c0 = top_channels();
  int64_t n = int64_t(z_dim) * c0 * 16 + 2 * c0;  // fc (no bias), bn0
  for (int i = 0; i < L; ++i) {
    const int64_t in = c0 >> i, out = i + 1 < L ? in / 2 : 3;
    n += in * out * 16 + (i + 1 == L ? out : 2 * out);  // deconv, then bn (or the last deconv's bias)
  }
  return n;
}

int64_t ModelConfig::discriminator_params() const {
  const int L = n_layers();
  int64_t n = 0;
  for (int i = 0; i < L; ++i) {
    const int64_t in = i == 0 ? 3 : int64_t(base_channels) << (i - 1), out = int64_t(base_channels) << i;
    n += in * out * 16 + (i == 0 ? out : 2 * out);  // conv1 has a bias, the others a BatchNorm
  }
  const int64_t feat = top_channels() * 16;
  return n + (feat + 1) * (1 + num_genres + n_codes);
}

int64_t ModelConfig::activations_per_image() const {
  const int L = n_layers();
  int64_t n = top_channels() * 16;
  for (int i = 0; i < L; ++i) {
    const int64_t side = int64_t(8) << i, g_out = i + 1 < L ? top_channels() >> (i + 1) : 3;
    const int64_t d_out = int64_t(base_channels) << i, d_side = image_size >> (i + 1);
    n += g_out * side * side + d_out * d_side * d_side;
  }
  return n;
}

double training_memory_bytes(const ModelConfig& m, int batch) {
  // Weights, gradients and two Adam moments, plus layer workspaces and the host copies
  // a checkpoint write makes: measured at about 7 values per parameter (base 512: 18.6M
  // parameters, 511 MB peak), so 8. Each layer output is kept with its pre-activation
  // copy and gradient, for real and fake batches: about 6 copies.
  const double params = double(m.generator_params() + m.discriminator_params());
  return 4.0 * (8.0 * params + 6.0 * double(batch) * double(m.activations_per_image()));
}

double sampling_memory_bytes(const ModelConfig& m, int64_t n) {
  return 4.0 * (double(m.generator_params()) + 3.0 * double(n) * double(m.activations_per_image()));
}

double available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  double kb = 0;
  while (std::getline(in, line))
    if (std::sscanf(line.c_str(), "MemAvailable: %lf kB", &kb) == 1) return kb * 1024.0;
  return 0;
}

void check_memory(double need, const std::string& what, const std::string& advice) {
  const double have = available_memory_bytes();
  if (have <= 0 || need <= have) return;
  char buf[256];
  std::snprintf(buf, sizeof buf, " needs about %.1f GB of memory but only %.1f GB is available; ", need / 1e9,
                have / 1e9);
  throw Error(what + buf + advice);
}

void TrainConfig::validate() const {
  model.validate();
  CG_USER_CHECK(!data.empty(), "No labeled dataset given (--data).");
  CG_USER_CHECK(int(genres.size()) == model.num_genres, "The config names ", genres.size(), " genres but the model has ",
                model.num_genres, ".");
  CG_USER_CHECK(batch >= 1 && batch <= 65536, "The batch size must be between 1 and 65536, got ", batch, ".");
  CG_USER_CHECK(epochs >= 0 && pretrain_epochs >= 0 && steps >= 0, "Epochs and steps cannot be negative.");
  for (const auto& [what, v] : std::map<std::string, double>{{"lr_pretrain.g", lr_pretrain.g},
                                                             {"lr_pretrain.d", lr_pretrain.d},
                                                             {"lr_finetune.g", lr_finetune.g},
                                                             {"lr_finetune.d", lr_finetune.d},
                                                             {"adam_eps", adam_eps},
                                                             {"lambda_code", lambda_code}})
    CG_USER_CHECK(v >= 0 && std::isfinite(v), what, " must be a finite non-negative number, got ", v, ".");
  CG_USER_CHECK(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "Adam's betas must be in [0, 1), got ", beta1,
                " and ", beta2, ".");
  CG_USER_CHECK(sample_every >= 0 && checkpoint_every >= 0 && log_every >= 1,
                "sample_every and checkpoint_every must be >= 0 (0: off) and log_every >= 1.");
  CG_USER_CHECK(keep_checkpoints >= 1, "keep_checkpoints must be at least 1, got ", keep_checkpoints, ".");
  CG_USER_CHECK(dtype == "f32" || dtype == "f64", "The training dtype must be f32 or f64, got \"", dtype, "\".");
  CG_USER_CHECK(dtype == "f32" || device != "cuda", "Training in f64 runs on the CPU only; pass --device cpu.");
  CG_USER_CHECK(holdout >= 0 && holdout <= 0.9, "holdout must be a fraction in [0, 0.9], got ", holdout, ".");
  parse_diffaug_policy(augment);  // one sentence for an unknown part
  CG_USER_CHECK(ema >= 0 && ema < 1, "ema must be a decay in [0, 1) (0: no average), got ", ema, ".");
  CG_USER_CHECK(real_label > 0.5 && real_label <= 1, "real_label must be in (0.5, 1], got ", real_label, ".");
  for (const auto& [what, v] : {std::pair<const char*, double>{"g_genre_weight", g_genre_weight},
                                {"d_fake_genre_weight", d_fake_genre_weight}})
    CG_USER_CHECK(v >= 0 && v <= 10 && std::isfinite(v), what, " must be a weight in [0, 10], got ", v, ".");
  CG_USER_CHECK(g_init == "normal" || g_init == "icnr", "g_init must be normal or icnr, got \"", g_init, "\".");
  CG_USER_CHECK(g_deconv == "free" || g_deconv == "resize", "g_deconv must be free or resize, got \"", g_deconv,
                "\".");
  CG_USER_CHECK(g_deconv_strength > 0 && g_deconv_strength <= 1, "g_deconv_strength must be in (0, 1], got ",
                g_deconv_strength, ".");
  CG_USER_CHECK(g_deconv_strength == 1 || g_deconv == "resize",
                "g_deconv_strength sets how hard --g-deconv resize pulls, so it needs g_deconv resize.");
  CG_USER_CHECK(standing_stats >= 0 && standing_stats <= 10000,
                "standing_stats must be a number of batches in [0, 10000] (0: off), got ", standing_stats, ".");
  CG_USER_CHECK(g_spectral >= 0 && g_spectral <= 100 && std::isfinite(g_spectral),
                "g_spectral must be a weight in [0, 100] (0: off), got ", g_spectral, ".");
  CG_USER_CHECK(g_spectral_from >= 1 && g_spectral_from < common::spectral_rings(model.image_size),
                "g_spectral_from must be a ring in [1, ", common::spectral_rings(model.image_size) - 1, "] for ",
                model.image_size, "x", model.image_size, " covers, got ", g_spectral_from, ".");
  CG_USER_CHECK(standing_stats == 0 || ema > 0,
                "standing_stats measures the statistics of G's weight average, so it needs ema (--ema 0.999).");
  CG_USER_CHECK(instance_noise >= 0 && std::isfinite(instance_noise) && instance_noise_steps >= 0,
                "instance_noise and instance_noise_steps cannot be negative.");
  CG_USER_CHECK((lr_decay_from == 0 && lr_decay_to == 0) || (lr_decay_from >= 0 && lr_decay_to > lr_decay_from),
                "The learning-rate decay must run from an iteration to a later one, got ", lr_decay_from, " to ",
                lr_decay_to, ".");
  CG_USER_CHECK(lr_decay_to == 0 || (steps > 0 && steps <= lr_decay_to), "The learning rates reach 0 at iteration ",
                lr_decay_to, " (--lr-decay-from), so the run needs --steps of at most that, got ", steps, ".");
  CG_USER_CHECK(sample_cols >= 1 && sample_cols <= 64, "sample_cols must be between 1 and 64, got ", sample_cols,
                ".");
  CG_USER_CHECK(precision == "auto" || precision == "fp32" || precision == "tf32" || precision == "bf16",
                "The precision must be auto, fp32, tf32 or bf16, got \"", precision, "\".");
}

double lr_decay_factor(const TrainConfig& c, int64_t step) {
  if (c.lr_decay_to <= c.lr_decay_from || step < c.lr_decay_from) return 1.0;
  return std::max(0.0, double(c.lr_decay_to - step) / double(c.lr_decay_to - c.lr_decay_from));
}

Precision resolve_precision(const std::string& spec, Device d) {
  if (spec == "auto") return d == Device::cuda ? Precision::tf32 : Precision::fp32;
  const Precision p = parse_precision(spec);
  CG_USER_CHECK(d == Device::cuda || p == Precision::fp32, "The precision ", spec,
                " runs on CUDA only; the CPU computes in fp32 (pass --precision fp32 or auto, or --device cuda).");
  return p;
}

void use_cuda_math(const std::string& precision, bool deterministic, Device d, const std::string& algo_cache) {
  CudaMath m = cuda_math();
  m.precision = resolve_precision(precision, d);
  m.deterministic = deterministic;
  m.algo_cache = algo_cache;
  set_cuda_math(m);
}

nlohmann::json to_json(const ModelConfig& m) {
  return {{"image_size", m.image_size},   {"base_channels", m.base_channels}, {"z_dim", m.z_dim},
          {"n_codes", m.n_codes},         {"num_genres", m.num_genres},       {"init_std", m.init_std},
          {"leaky_slope", m.leaky_slope}, {"bn_momentum", m.bn_momentum},     {"bn_eps", m.bn_eps},
          {"d_dropout", m.d_dropout}};
}

namespace {

// Reads j[key] into v when present; a wrong type becomes one sentence.
// Integers must be JSON integers in range: {"batch": 16.7} or {"seed": -3} is an error, never coerced.
template <class T>
void get(const nlohmann::json& j, const char* key, T& v) {
  auto it = j.find(key);
  if (it == j.end()) return;
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    CG_USER_CHECK(it->is_number(), "The setting \"", key, "\" has the wrong type (", it->type_name(), ").");
    const bool whole = it->is_number_integer();
    bool fits = false;
    if (it->is_number_unsigned()) {
      fits = it->get<uint64_t>() <= uint64_t(std::numeric_limits<T>::max());
    } else if (whole) {
      const int64_t x = it->get<int64_t>();
      if constexpr (std::is_signed_v<T>)
        fits = x >= int64_t(std::numeric_limits<T>::min()) && x <= int64_t(std::numeric_limits<T>::max());
      else
        fits = x >= 0;  // a negative value parsed as signed; positive ones arrive as unsigned
    }
    CG_USER_CHECK(whole, "The setting \"", key, "\" must be a whole number, got ", it->dump(), ".");
    CG_USER_CHECK(fits, "The setting \"", key, "\" is out of range (", it->dump(), ")",
                  std::is_signed_v<T> ? "." : "; it cannot be negative.");
    v = it->get<T>();
    return;
  }
  try {
    v = it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(detail::cat("The setting \"", key, "\" has the wrong type (", it->type_name(), ")."));
  }
}

void reject_unknown(const nlohmann::json& j, std::initializer_list<const char*> known, const char* where) {
  CG_USER_CHECK(j.is_object(), "The ", where, " settings must be a JSON object.");
  for (const auto& [k, v] : j.items()) {
    bool ok = false;
    for (const char* name : known) ok = ok || k == name;
    CG_USER_CHECK(ok, "Unknown ", where, " setting \"", k, "\".");
  }
}

void get_lr(const nlohmann::json& j, const char* key, PhaseLr& lr) {
  auto it = j.find(key);
  if (it == j.end()) return;
  reject_unknown(*it, {"g", "d"}, key);
  get(*it, "g", lr.g);
  get(*it, "d", lr.d);
}

}  // namespace

ModelConfig model_from_json(const nlohmann::json& j) {
  reject_unknown(j, {"image_size", "base_channels", "z_dim", "n_codes", "num_genres", "init_std", "leaky_slope",
                     "bn_momentum", "bn_eps", "d_dropout"},
                 "model");
  ModelConfig m;
  get(j, "image_size", m.image_size);
  get(j, "base_channels", m.base_channels);
  get(j, "z_dim", m.z_dim);
  get(j, "n_codes", m.n_codes);
  get(j, "num_genres", m.num_genres);
  get(j, "init_std", m.init_std);
  get(j, "leaky_slope", m.leaky_slope);
  get(j, "bn_momentum", m.bn_momentum);
  get(j, "bn_eps", m.bn_eps);
  get(j, "d_dropout", m.d_dropout);
  return m;
}

nlohmann::json to_json(const TrainConfig& c) {
  return {{"model", to_json(c.model)},
          {"genres", c.genres},
          {"data", c.data},
          {"data_bytes", c.data_bytes},
          {"data_fingerprint", c.data_fingerprint},
          {"pretrain", c.pretrain},
          {"init", c.init},
          {"pretrain_epochs", c.pretrain_epochs},
          {"epochs", c.epochs},
          {"steps", c.steps},
          {"batch", c.batch},
          {"seed", c.seed},
          {"device", c.device},
          {"precision", c.precision},
          {"deterministic", c.deterministic},
          {"graph", c.graph},
          {"lr_pretrain", {{"g", c.lr_pretrain.g}, {"d", c.lr_pretrain.d}}},
          {"lr_finetune", {{"g", c.lr_finetune.g}, {"d", c.lr_finetune.d}}},
          {"lr_decay_from", c.lr_decay_from},
          {"lr_decay_to", c.lr_decay_to},
          {"beta1", c.beta1},
          {"beta2", c.beta2},
          {"adam_eps", c.adam_eps},
          {"lambda_code", c.lambda_code},
          {"hflip", c.hflip},
          {"sync_bn", c.sync_bn},
          {"dtype", c.dtype},
          {"holdout", c.holdout},
          {"holdout_seed", c.holdout_seed},
          {"ema", c.ema},
          {"augment", c.augment},
          {"real_label", c.real_label},
          {"instance_noise", c.instance_noise},
          {"g_genre_weight", c.g_genre_weight},
          {"d_fake_genre_weight", c.d_fake_genre_weight},
          {"instance_noise_steps", c.instance_noise_steps},
          {"g_init", c.g_init},
          {"g_deconv", c.g_deconv},
          {"g_deconv_strength", c.g_deconv_strength},
          {"standing_stats", c.standing_stats},
          {"g_spectral", c.g_spectral},
          {"g_spectral_from", c.g_spectral_from},
          {"sample_every", c.sample_every},
          {"checkpoint_every", c.checkpoint_every},
          {"keep_checkpoints", c.keep_checkpoints},
          {"log_every", c.log_every},
          {"sample_cols", c.sample_cols}};
}

void apply_json(TrainConfig& c, const nlohmann::json& j) {
  reject_unknown(j, {"model", "genres", "data", "data_bytes", "data_fingerprint", "pretrain", "init", "pretrain_epochs",
                     "epochs", "steps", "batch", "seed", "device", "precision", "deterministic", "graph", "lr_pretrain",
                     "lr_finetune", "lr_decay_from", "lr_decay_to", "beta1", "beta2", "adam_eps", "lambda_code", "hflip",
                     "sync_bn", "dtype", "holdout", "holdout_seed", "ema", "augment", "real_label", "instance_noise",
                     "instance_noise_steps",
                     "g_genre_weight", "d_fake_genre_weight", "g_init", "g_deconv", "g_deconv_strength", "standing_stats",
                     "g_spectral", "g_spectral_from",
                     "sample_every", "checkpoint_every", "keep_checkpoints", "log_every", "sample_cols", "iteration",
                     "d_batches"},
                 "training");  // "iteration", "d_batches": train's records of how it ran, not read
  if (j.contains("model")) {
    // Keys absent from the file keep the values c already has.
    nlohmann::json merged = to_json(c.model);
    reject_unknown(j["model"], {"image_size", "base_channels", "z_dim", "n_codes", "num_genres", "init_std",
                                "leaky_slope", "bn_momentum", "bn_eps", "d_dropout"},
                   "model");
    for (const auto& [k, v] : j["model"].items()) merged[k] = v;
    c.model = model_from_json(merged);
  }
  get(j, "genres", c.genres);
  get(j, "data", c.data);
  get(j, "data_bytes", c.data_bytes);
  get(j, "data_fingerprint", c.data_fingerprint);
  get(j, "pretrain", c.pretrain);
  get(j, "init", c.init);
  get(j, "pretrain_epochs", c.pretrain_epochs);
  get(j, "epochs", c.epochs);
  get(j, "steps", c.steps);
  get(j, "batch", c.batch);
  get(j, "seed", c.seed);
  get(j, "device", c.device);
  get(j, "precision", c.precision);
  get(j, "deterministic", c.deterministic);
  get(j, "graph", c.graph);
  get_lr(j, "lr_pretrain", c.lr_pretrain);
  get_lr(j, "lr_finetune", c.lr_finetune);
  get(j, "lr_decay_from", c.lr_decay_from);
  get(j, "lr_decay_to", c.lr_decay_to);
  get(j, "beta1", c.beta1);
  get(j, "beta2", c.beta2);
  get(j, "adam_eps", c.adam_eps);
  get(j, "lambda_code", c.lambda_code);
  get(j, "hflip", c.hflip);
  get(j, "sync_bn", c.sync_bn);
  get(j, "dtype", c.dtype);
  get(j, "holdout", c.holdout);
  get(j, "holdout_seed", c.holdout_seed);
  get(j, "ema", c.ema);
  get(j, "augment", c.augment);
  get(j, "real_label", c.real_label);
  get(j, "instance_noise", c.instance_noise);
  get(j, "g_genre_weight", c.g_genre_weight);
  get(j, "d_fake_genre_weight", c.d_fake_genre_weight);
  get(j, "instance_noise_steps", c.instance_noise_steps);
  get(j, "g_init", c.g_init);
  get(j, "g_deconv", c.g_deconv);
  get(j, "g_deconv_strength", c.g_deconv_strength);
  get(j, "standing_stats", c.standing_stats);
  get(j, "g_spectral", c.g_spectral);
  get(j, "g_spectral_from", c.g_spectral_from);
  get(j, "sample_every", c.sample_every);
  get(j, "checkpoint_every", c.checkpoint_every);
  get(j, "keep_checkpoints", c.keep_checkpoints);
  get(j, "log_every", c.log_every);
  get(j, "sample_cols", c.sample_cols);
}

void apply_legacy_defaults(TrainConfig& c, const nlohmann::json& j) {
  if (!j.contains("holdout")) c.holdout = 0;
  if (!j.contains("ema")) c.ema = 0;
}

TrainConfig train_config_from_json(const nlohmann::json& j) {
  TrainConfig c;
  apply_json(c, j);
  return c;
}

nlohmann::json read_json_file(const std::string& path) {
  require_regular_file(path, "Cannot open the settings file");
  std::ifstream in(path);
  CG_USER_CHECK(in.good(), "Cannot open the settings file ", path, ".");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    throw Error(detail::cat("The settings file ", path, " is not valid JSON (", e.what(), ")."));
  }
}

}  // namespace cg::gan
