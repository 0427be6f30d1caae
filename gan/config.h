// The AC-GAN's settings: the model's shape (ModelConfig) and a training run's
// schedule and optimiser settings (TrainConfig), with the paper's defaults
// (docs/DESIGN.md section 1), JSON load/save and validation with one-sentence errors.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/precision.h"
#include "engine/device.h"

namespace cg::gan {

struct ModelConfig {
  int image_size = 64;      // 16, 32, 64 or 128
  int base_channels = 128;  // D's first conv width; G's last hidden width
  int z_dim = 100;          // generator input: one-hot genre | codes | noise
  int n_codes = 2;          // latent codes c, predicted back by D's code head
  int num_genres = 5;       // K
  double init_std = 0.02;
  double leaky_slope = 0.2;
  double bn_momentum = 0.1, bn_eps = 1e-5;
  double d_dropout = 0;  // dropout after each of D's conv blocks in training (0: none, the paper)

  // Up-sampling (and down-sampling) layers: log2(image_size / 4).
  int n_layers() const;
  int noise_dim() const { return z_dim - num_genres - n_codes; }
  // Channels of G's 4x4 input map (= D's last conv output): base_channels * 2^(n_layers-1).
  int64_t top_channels() const;
  void validate() const;  // throws cg::Error with one sentence
  bool operator==(const ModelConfig&) const = default;

  // Trainable parameters of G and D, counted from the shapes (no allocation), so a
  // model too big for the machine is refused before any memory is taken.
  int64_t generator_params() const;
  int64_t discriminator_params() const;
  // Values one image occupies in the layer outputs of one G and one D forward pass.
  int64_t activations_per_image() const;
};

// Rough bytes a training run (weights, gradients, Adam moments, a batch's activations
// and their gradients) or a sampling pass of n images needs, in f32.
double training_memory_bytes(const ModelConfig& m, int batch);
double sampling_memory_bytes(const ModelConfig& m, int64_t n);
// Memory the system can still give this process (MemAvailable), in bytes; 0 if unknown.
double available_memory_bytes();
// Throws one sentence when need exceeds what is available (what: "Training this model").
void check_memory(double need, const std::string& what, const std::string& advice);

// One phase's Adam learning rates.
struct PhaseLr {
  double g = 0, d = 0;
  bool operator==(const PhaseLr&) const = default;
};

struct TrainConfig {
  ModelConfig model;
  std::vector<std::string> genres;  // from the labeled dataset; model.num_genres = genres.size()
  std::string data;                 // labeled set (.cgd)
  // The labeled set's identity when the run started (Dataset::file_bytes, ::fingerprint;
  // 0 and "" in runs from before it was recorded): eval's trained-on/held-out split and
  // --resume check that the file at `data` is still that file.
  int64_t data_bytes = 0;
  std::string data_fingerprint;
  std::string pretrain;             // unlabeled set for phase 1 ("" = no pretraining)
  std::string init;                 // checkpoint whose weights start the run ("" = fresh init)
  int64_t pretrain_epochs = 5;  // used only with a pretraining set
  int64_t epochs = 25;
  int64_t steps = 0;  // stop after this many iterations in all (0: run every epoch)
  int batch = 128;
  uint64_t seed = 1;
  std::string device = "auto";
  // The CUDA arithmetic (base/precision.h): "auto" (tf32 on CUDA, fp32 on the CPU), "fp32",
  // "tf32" or "bf16"; config.json records what auto resolved to. deterministic: cuDNN's
  // deterministic algorithms, nothing timed; graph: capture the iteration as a CUDA graph.
  std::string precision = "auto";
  bool deterministic = false;
  bool graph = true;
  PhaseLr lr_pretrain{0.002, 0.001};
  PhaseLr lr_finetune{1e-5, 2e-5};
  // A linear decay of the learning rates (both nets, the phase running then) from their
  // value at iteration lr_decay_from to 0 at iteration lr_decay_to (0, 0: none); train's
  // --lr-decay-from sets `to` to --steps. Explicit iterations, so a resumed run follows
  // the schedule it started with.
  int64_t lr_decay_from = 0, lr_decay_to = 0;
  double beta1 = 0.5, beta2 = 0.999, adam_eps = 1e-8;
  double lambda_code = 1.0;
  bool hflip = false;
  // Data-parallel runs (docs/DISTRIBUTED.md): batch norm over the global batch, not each
  // rank's slice. Off by default, as PyTorch's DDP; no effect in one process.
  bool sync_bn = false;
  std::string dtype = "f32";  // "f64": train in double precision (CPU only; for numerical checks)
  // The labeled covers held out for evaluation: a stratified fraction chosen by a seeded
  // hash of their pixels (data/holdout.h), the same for every --seed.
  double holdout = 0.1;
  uint64_t holdout_seed = 0;
  // The small-set recipe (gan/augment.h, docs/TRAINING.md): an exponential moving average
  // of G's weights for sampling (its decay; 0: none), DiffAugment of D's inputs (a policy:
  // "" or a comma list of color, translation, cutout), D's target for real covers (one-sided
  // label smoothing), and Gaussian noise on D's inputs (its std, falling linearly to 0 over
  // instance_noise_steps iterations; 0 steps: constant).
  double ema = 0;
  std::string augment;
  double real_label = 1.0;
  double instance_noise = 0;
  // The genre terms' weights in G's loss and in D's loss on generated covers (LossConfig).
  double g_genre_weight = 1.0;
  double d_fake_genre_weight = 1.0;
  int64_t instance_noise_steps = 0;
  // How G's transposed convolutions start: "normal" (every tap drawn, the paper) or "icnr"
  // (the four output phases tied: nearest-neighbour upsampling and a 3x3 convolution).
  std::string g_init = "normal";
  // What G's transposed convolutions may become: "free" (any 4x4 kernel, the paper) or
  // "resize" (projected after every update onto nearest-neighbour upsampling followed by a
  // 3x3 convolution, which cannot paint a checkerboard; Odena et al. 2016). The model and
  // the checkpoints stay the paper's transposed convolutions.
  std::string g_deconv = "free";
  // With g_deconv "resize": the share of each kernel's part outside the resize-convolutions
  // removed after every update (1: all of it; below 1 a soft pull G's loss can outweigh).
  double g_deconv_strength = 1.0;
  // Standing statistics of the weight average (gan/standing_stats.h): before each
  // checkpoint, G_ema's batch-norm running statistics are measured afresh over this many
  // batches of the training batch with G_ema's own weights (0, the default: kept as the
  // average of G's; docs/SMALL_SETS.md measured both).
  int standing_stats = 0;
  // G's spectral term (layers/spectral_loss.h; Durall et al. 2020): its weight in G's loss
  // (0, the default: off) and the first ring it compares, in cycles per image side (rings
  // below it hold the covers' layout, which D judges). The target is the training covers'
  // power per genre (gan/spectral_target.h), recomputed on resume.
  double g_spectral = 0;
  int g_spectral_from = 4;
  int64_t sample_every = 500;
  int64_t checkpoint_every = 1000;
  int keep_checkpoints = 3;
  int64_t log_every = 10;
  int sample_cols = 8;

  void validate() const;
};

// The learning rates' factor for the iteration `step` (0-based) under lr_decay_from/_to: 1
// before the decay, (to - step) / (to - from) in it, 0 from `to` on.
double lr_decay_factor(const TrainConfig& c, int64_t step);

// "auto" is tf32 on CUDA (the fastest mode that passes the parity tests; README says why)
// and fp32 on the CPU; tf32 and bf16 on the CPU are refused in one sentence.
Precision resolve_precision(const std::string& spec, Device d);
// Sets the CUDA arithmetic (base/precision.h) a run or a tool uses on device d: its precision,
// algorithm choice and the file of measured algorithms ("" = this process only).
void use_cuda_math(const std::string& precision, bool deterministic, Device d, const std::string& algo_cache);

nlohmann::json to_json(const ModelConfig& m);
// Missing keys keep their defaults; unknown keys are an error (a typo must not pass silently).
ModelConfig model_from_json(const nlohmann::json& j);
nlohmann::json to_json(const TrainConfig& c);
// Applies the keys of j over c (so a --config file overrides the defaults).
void apply_json(TrainConfig& c, const nlohmann::json& j);
TrainConfig train_config_from_json(const nlohmann::json& j);
// The settings of a run written before the holdout and the recipe keys existed: a key
// absent from j means what the code did then (no holdout, no EMA), not today's default.
void apply_legacy_defaults(TrainConfig& c, const nlohmann::json& j);
// Reads a JSON file; errors name the file and the problem.
nlohmann::json read_json_file(const std::string& path);

}  // namespace cg::gan
