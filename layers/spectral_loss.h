// A spectral loss (Durall, Keuper & Keuper 2020, "Watch your up-convolution"): the distance,
// per genre and ring of the radially averaged power spectrum, between generated covers'
// log power and the real covers', as a tape op. It asks G for the real covers' share of
// fine detail: no checkerboard past S/2, no smooth patch where real covers draw lines.
#pragma once
#include "engine/tape.h"

namespace cg {

// Each image's ring powers (N,R), R = spectral_rings(S): the mean over ring r's DFT bins of
// the channels' mean |X|^2 / S^2 (eval's spectrum, without its per-channel mean). No tape.
Tensor spectral_ring_power(const Tensor& images);  // images (N,C,S,S) float

// mean over the genres present in labels and the rings first_ring .. R-1 of
// (ln(P_g,r + eps) - target_g,r)^2, P_g,r the mean ring power of the batch's images of genre g.
// images (N,C,S,S) float; labels i32 (N) in [0, K); target (K,R) (ln of the real covers'
// ring power + eps) takes no gradient. A one-element tensor.
Tensor spectral_loss(Tape* tape, const Tensor& images, const Tensor& labels, const Tensor& target, int first_ring,
                     double eps);

}  // namespace cg
