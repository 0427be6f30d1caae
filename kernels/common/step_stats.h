// What one training iteration reports, as a small f32 vector the device fills (no host
// read inside an iteration): the loss terms, D's outputs and genre accuracy, and the
// non-finite guard, whose code (1 + the slot of the first term that was NaN or infinite)
// stops every later Adam update until the host has seen it.
#pragma once
#include <math.h>
#include <stdint.h>

#include "kernels/common/activations.h"
#include "kernels/common/hd.h"

namespace cg::common {

enum StatSlot : int {
  kDTotal = 0, kDSrcReal, kDSrcFake, kDClsReal, kDClsFake, kDCode,
  kGTotal, kGSrc, kGCls, kGCode,
  kDReal, kDFake,      // mean sigmoid of D's real/fake logit on the real / fake batch (D step)
  kAccReal, kAccFake,  // D's genre accuracy on the real / fake batch (D step)
  kHalted,             // the guard's code after this iteration (0: every term finite so far)
  kGSpectral,          // G's spectral term (train --g-spectral; 0 when off)
  kStatSlots = 16
};

// Up to six one-element loss tensors and the slots they go to (null: the term is absent: 0).
struct LossTerms {
  const float* value[6];
  int slot[6];
  int n;
};

// D's logits on the real and the fake batch and the labels (null cls: no genre terms).
struct BatchLogits {
  const float *src_real, *src_fake, *cls_real, *cls_fake;
  const int32_t *labels_real, *labels_fake;
  int64_t B, K;
};

// The first of row i's K logits that is largest (as torch.argmax) == label.
CG_HD bool genre_hit(const float* logits, int64_t K, int64_t i, int32_t label) {
  const float* row = logits + i * K;
  int64_t best = 0;
  for (int64_t k = 1; k < K; ++k)
    if (row[k] > row[best]) best = k;
  return best == label;
}

CG_HD float sigmoid_of(float z) { return sigmoid_fwd(z); }

}  // namespace cg::common
