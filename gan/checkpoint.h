// AC-GAN checkpoints: one safetensors file holding G's and D's parameters and
// BatchNorm buffers under PyTorch-style names ("G.fc.weight", "D.bn2.running_var"),
// the Adam moments ("optim.G.m", ...) and, in __metadata__, the training position,
// RNG offsets, the resolved config and the genre names. docs/CHECKPOINTS.md has
// the full list.
#pragma once
#include <string>

#include "engine/adam.h"
#include "engine/safetensors.h"
#include "gan/config.h"
#include "gan/discriminator.h"
#include "gan/generator.h"

namespace cg::gan {

inline constexpr const char* kCheckpointFormat = "covergan.acgan";
inline constexpr int kCheckpointVersion = 1;

// Where a run stands between two iterations: enough to continue it exactly.
struct TrainState {
  int64_t step = 0;                 // iterations completed, over both phases
  std::string phase = "finetune";   // "pretrain" or "finetune"
  int64_t epoch = 0, batch_in_epoch = 0;  // the current phase's loader position
  uint64_t rng_seed = 0, rng_offset = 0;  // the latent-draw Philox stream
  int64_t adam_g_steps = 0, adam_d_steps = 0;
};

// Writes G, D (when given), the optimisers (when given), G's weight average (when given,
// as "G_ema.*": the names of G with that prefix) and the state; atomically
// (temporary file, flush, rename). Refuses (cg::Error, nothing written) when any
// weight, buffer or Adam moment holds a NaN or infinity.
void save_checkpoint(const std::string& path, const TrainConfig& cfg, Generator& G, Discriminator* D,
                     Adam* opt_g, Adam* opt_d, const TrainState& st, Generator* G_ema = nullptr);

class Checkpoint {
 public:
  // Reads and validates the file and its metadata; one sentence naming the file on error.
  static Checkpoint load(const std::string& path);
  // The same checks over a file already parsed (fuzzing, tests); path names it in messages.
  static Checkpoint from_safetensors(const std::string& path, SafeTensors file);

  const TrainConfig& config() const { return cfg_; }
  const TrainState& state() const { return st_; }
  const std::string& path() const { return path_; }
  bool has_discriminator() const;
  bool has_optimizers() const;
  bool has_ema() const;  // G's weight average (train --ema)

  // Copies the weights and buffers into a model whose config must match (shapes,
  // genres); an error names the first tensor that does not fit.
  void restore(Generator& G) const;
  void restore(Discriminator& D) const;
  // G's weight average into a generator (throws when the checkpoint has none).
  void restore_ema(Generator& G) const;
  // The generator sampling uses: the weight average when there is one and use_ema, else G.
  void restore_for_sampling(Generator& G, bool use_ema = true) const;
  void restore_optimizers(Adam& opt_g, Adam& opt_d) const;

  // Throws unless this checkpoint's model could be loaded into a model of cfg with these genres.
  void check_fits(const ModelConfig& cfg, const std::vector<std::string>& genres) const;

 private:
  std::string path_;
  SafeTensors st_file_;
  TrainConfig cfg_;
  TrainState st_;
  void restore_store(ParamStore& ps, const char* prefix, const char* stored_prefix = nullptr) const;
};

}  // namespace cg::gan
