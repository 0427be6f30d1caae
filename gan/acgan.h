// One AC-GAN iteration (docs/DESIGN.md section 1): the latent draws, G's forward (once),
// D's loss and backward on a real and the detached fake batch, then G's loss and backward
// through D after D's update. Everything is device work with no host synchronisation
// inside (what a CUDA graph captures): the losses and statistics land in a small device
// vector, and a device guard stops the updates once a loss is not finite.
// The trainer, the parity tests and the benchmarks all call these same functions.
#pragma once
#include <string>

#include "engine/adam.h"
#include "engine/tape_graph.h"
#include "gan/augment.h"
#include "gan/discriminator.h"
#include "gan/generator.h"
#include "kernels/common/step_stats.h"

namespace cg::gan {

// Everything one iteration consumes, on the models' device and dtype.
struct StepBatch {
  Tensor real;         // (B,3,S,S) in [-1,1]
  Tensor real_labels;  // i32 (B); unused when the genre terms are off
  Tensor z;            // (B,z_dim) generator input: one-hot genre | codes | noise
  Tensor fake_labels;  // i32 (B) the genres in z's one-hot slots
  Tensor codes;        // (B,n_codes) the codes in z (undefined when n_codes == 0)
  uint64_t dropout_key = 0;  // D's dropout masks: the D step and the G step each key a Philox from it
  // What D sees in its three calls (gan/augment.h): the real batch and the fake one in
  // the D step, the fake one in the G step. Empty: the images as they are.
  DInput real_in, fake_in_d, fake_in_g;
};

struct LossConfig {
  bool genre_terms = true;  // false in pretraining: no CE terms in either loss
  double lambda_code = 1.0;
  double real_label = 1.0;  // D's BCE target for real covers (one-sided label smoothing below 1)
  // Weights of the genre terms the paper sums with weight 1: G's (drawn genre of G(z)) and
  // D's on generated covers. Below 1 they weaken AC-GAN's pull towards covers that are
  // easy to classify, the typical cover of each genre (docs/TRAINING.md).
  double g_genre_weight = 1.0;
  double d_fake_genre_weight = 1.0;
  // G's spectral term (layers/spectral_loss.h), on when spectral_weight > 0 and the genre terms
  // are: the target (K,R) is ln of the training covers' ring power per genre, + spectral_eps.
  double spectral_weight = 0.0;
  int spectral_first_ring = 0;
  double spectral_eps = 1e-4;  // gan/spectral_target.h's kSpectralEps
  Tensor spectral_target{};
};

// Loss terms and batch statistics of one iteration (host values).
struct StepStats {
  double d_total = 0, d_src_real = 0, d_src_fake = 0, d_cls_real = 0, d_cls_fake = 0, d_code = 0;
  double g_total = 0, g_src = 0, g_cls = 0, g_code = 0, g_spectral = 0;
  double d_real = 0, d_fake = 0;      // mean sigmoid(D(x)) and sigmoid(D(G(z))) in the D step
  double acc_real = 0, acc_fake = 0;  // D's genre accuracy on the real / fake batch (D step)
  int halted = 0;                     // the guard's code: 1 + the slot of the first non-finite term, or 0
};
// From the device vector's values (common::StatSlot order).
StepStats stats_from(const float* slots);
// The name of the term a guard code points at ("d_cls_fake"; "" for 0), and its value in s.
const char* halted_term(int code);
double halted_value(const StepStats& s);

// Thrown when a loss term is NaN or Inf; no weights were updated with it.
class NonFiniteLoss : public Error {
 public:
  NonFiniteLoss(const std::string& term, double value);
  std::string term;
  double value;
};

// Where an iteration's device work reports and draws from, on the models' device: stats
// f32 (kStatSlots), the guard halt i32 (1), and the latent stream's offset (i32 (2)
// holding a uint64) that the draws read and advance. The seed is the stream's key.
struct IterationState {
  Tensor stats, halt, offset;
  uint64_t seed = 0;
  IterationState() = default;
  IterationState(Device d, uint64_t seed, uint64_t offset);
  // Host reads (each waits for the device).
  StepStats read() const;
  uint64_t read_offset() const;
  void clear_halt();
};

// The generator input for given genres (N), codes (N,n_codes) and noise (N,noise_dim),
// all on the host: returns (N, z_dim) [one-hot | codes | noise] on the host, dtype of noise.
Tensor make_generator_input(const ModelConfig& cfg, const std::vector<int32_t>& genres, const Tensor& codes,
                            const Tensor& noise);

// Philox words one iteration's draws use (kernels/common/latents.h): the offset's advance.
uint64_t latent_words(const ModelConfig& cfg, int64_t B);
// D's dropout key for the iteration whose latent draws leave the stream (seed) at offset:
// a new key every iteration, and a resumed run (which restores the offset) draws the same
// masks. The masks are drawn with host-side stream positions, so an iteration with dropout
// runs eagerly (gan/iteration.h choose_graph), never as a replayed CUDA graph.
uint64_t dropout_key(uint64_t seed, uint64_t offset);
// Draws one iteration's genres, codes and noise from the state's stream on the device
// (kernels/common/latents.h: the same values on the CPU and CUDA) into b.z, b.fake_labels
// and b.codes (reused when they already have the shapes: a graph's fixed addresses), and
// advances the state's offset on the device.
void draw_latents(IterationState& st, const ModelConfig& cfg, int64_t B, StepBatch& b);
// The host's draw (tests and tools, f32 or f64): genres (Philox::next_below), then the codes
// and the noise (Philox::uniform fills) from rng, assembled on the host and uploaded. A
// different layout from the device draw above: the parity tests' data were made with it.
// Also sets b.dropout_key from rng's position (drawing nothing: the latents do not depend on it).
void draw_latents(Philox& rng, const ModelConfig& cfg, int64_t B, Device device, DType dtype, StepBatch& b);

// G's forward of one iteration, recorded on the tape the G step goes on with. G runs once
// per iteration (the authors' code ran it again in the G step): its weights do not change
// between the two steps and its BatchNorm normalises with the same batch statistics, so the
// second run gave the same images. Its running statistics follow each batch once.
struct GForward {
  Tape tape;
  Tensor fake;  // (B,3,S,S) G(b.z), training BatchNorm; the output of tape's last record
};
GForward g_forward(const Generator& G, const StepBatch& b);

// Whether the D step runs D's real and generated batches (batch images each) as one batch
// of 2B (Discriminator::forward_pair: the values of two calls, faster below 64 images): not
// with dropout in D (its masks are drawn call by call) nor with --sync-bn (statistics over
// the ranks, one batch per call). COVERGAN_D_PAIR=on or off overrides the batch rule (A/B).
bool d_joins_batches(const ModelConfig& m, int64_t batch, bool sync_bn);
// D step: zeroes D's gradients, runs D on the real batch and on fake (fake read detached,
// so no gradient reaches G; as one batch where d_joins_batches), and backpropagates D's loss into D's
// gradients; writes the d_* terms, D's mean outputs and genre accuracy into st.stats and
// runs the guard. With graph, the tape as a graph (engine/tape_graph.h: taken before the
// sweep frees what records saved, values and gradients captured after it, a host read),
// the batch and terms labelled.
void d_step(Discriminator& D, const StepBatch& b, const Tensor& fake, const LossConfig& lc, IterationState& st,
            TapeGraph* graph = nullptr);
// G step: zeroes G's gradients, runs D on gf.fake on gf's tape with D's parameters frozen,
// and backpropagates G's loss through D and G into G's gradients; the g_* terms. Consumes
// gf's tape (a tape is swept once).
void g_step(Generator& G, Discriminator& D, const StepBatch& b, GForward& gf, const LossConfig& lc,
            IterationState& st, TapeGraph* graph = nullptr);
// One whole iteration, device work only: the latent draw from st, G's forward, the D step, Adam on D
// (unless the guard is set), the G step, Adam on G (likewise).
void enqueue_iteration(Generator& G, Discriminator& D, Adam& opt_g, Adam& opt_d, StepBatch& b, const LossConfig& lc,
                       IterationState& st);

// Host views, each reading its stats back (a synchronisation): tests, --dump-tape, benchmarks.
// On a G forward the caller made (one per iteration) ...
void d_backward(Discriminator& D, const StepBatch& b, const Tensor& fake, const LossConfig& lc, StepStats& stats,
                TapeGraph* graph = nullptr);
void g_backward(Generator& G, Discriminator& D, const StepBatch& b, GForward& gf, const LossConfig& lc,
                StepStats& stats, TapeGraph* graph = nullptr);
// ... or each step alone, running G itself (gradient checks, --dump-tape).
void d_backward(Generator& G, Discriminator& D, const StepBatch& b, const LossConfig& lc, StepStats& stats,
                TapeGraph* graph = nullptr);
void g_backward(Generator& G, Discriminator& D, const StepBatch& b, const LossConfig& lc, StepStats& stats,
                TapeGraph* graph = nullptr);
// g_forward, d_backward, Adam on D, g_backward, Adam on G on b's latents. Throws NonFiniteLoss (after
// the steps, none of which updated a weight with a non-finite loss).
StepStats train_step(Generator& G, Discriminator& D, Adam& opt_g, Adam& opt_d, const StepBatch& b,
                     const LossConfig& lc);

}  // namespace cg::gan
