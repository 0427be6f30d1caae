// One AC-GAN iteration (docs/DESIGN.md section 1): the latent draws, D's loss and
// backward on a real and a (detached) fake batch, then G's loss and backward
// with G run again after D's update on the same inputs. The trainer, the parity
// test and the benchmarks all call these same functions.
#pragma once
#include <string>

#include "engine/adam.h"
#include "engine/tape_graph.h"
#include "gan/augment.h"
#include "gan/discriminator.h"
#include "gan/generator.h"

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
};

// Loss terms and batch statistics of one iteration (host values).
struct StepStats {
  double d_total = 0, d_src_real = 0, d_src_fake = 0, d_cls_real = 0, d_cls_fake = 0, d_code = 0;
  double g_total = 0, g_src = 0, g_cls = 0, g_code = 0;
  double d_real = 0, d_fake = 0;      // mean sigmoid(D(x)) and sigmoid(D(G(z))) in the D step
  double acc_real = 0, acc_fake = 0;  // D's genre accuracy on the real / fake batch (D step)
};

// Thrown when a loss term is NaN or Inf, before the optimiser step that would spread it.
class NonFiniteLoss : public Error {
 public:
  NonFiniteLoss(const std::string& term, double value);
  std::string term;
  double value;
};

// The generator input for given genres (N), codes (N,n_codes) and noise (N,noise_dim),
// all on the host: returns (N, z_dim) [one-hot | codes | noise] on the host, dtype of noise.
Tensor make_generator_input(const ModelConfig& cfg, const std::vector<int32_t>& genres, const Tensor& codes,
                            const Tensor& noise);

// Draws one iteration's genres (uniform), codes and noise (uniform(-1,1)) from rng, in
// that order, on the host; fills b.z, b.fake_labels and b.codes on device/dtype, and
// b.dropout_key from rng's position (drawing nothing: the latents do not depend on it).
void draw_latents(Philox& rng, const ModelConfig& cfg, int64_t B, Device device, DType dtype, StepBatch& b);

// D step: zeroes D's gradients, runs G (no tape, training BatchNorm), D on the real and
// on the fake batch (two calls), and backpropagates D's loss into D's gradients.
// Fills the d_* fields of stats. Does not update the weights. With graph, the tape as a
// graph (engine/tape_graph.h: taken before the sweep frees what records saved, values
// and gradients captured after it), the batch and the loss terms labelled.
void d_backward(Generator& G, Discriminator& D, const StepBatch& b, const LossConfig& lc, StepStats& stats,
                TapeGraph* graph = nullptr);
// G step: zeroes G's gradients, runs G again on b.z with a tape, then D on its output with
// D's parameters frozen, and backpropagates G's loss into G's gradients. Fills the g_* fields.
void g_backward(Generator& G, Discriminator& D, const StepBatch& b, const LossConfig& lc, StepStats& stats,
                TapeGraph* graph = nullptr);

// d_backward, Adam on D, g_backward, Adam on G. Throws NonFiniteLoss before an update
// whose loss is not finite.
StepStats train_step(Generator& G, Discriminator& D, Adam& opt_g, Adam& opt_d, const StepBatch& b,
                     const LossConfig& lc);

}  // namespace cg::gan
