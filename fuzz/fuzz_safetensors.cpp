// libFuzzer target: arbitrary bytes read as a safetensors file, then as an AC-GAN
// checkpoint. Reading must either throw cg::Error or give tensors whose declared
// shapes match their bytes; a checkpoint that loads is restored into a model of its
// own config (only small ones, so the fuzzer never allocates gigabytes on purpose).
// Seed the corpus with a checkpoint of a tiny model (`covergan train --base-channels 2`
// on a 16x16 set) so mutations reach the metadata, shape and restore checks.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "base/check.h"
#include "engine/safetensors.h"
#include "gan/checkpoint.h"

namespace {

void exercise_checkpoint(const cg::SafeTensors& st) {
  const cg::gan::Checkpoint ck = cg::gan::Checkpoint::from_safetensors("fuzz", st);
  const cg::gan::ModelConfig& m = ck.config().model;
  if (m.base_channels > 8 || m.image_size > 32) return;  // keep each run small
  cg::gan::Generator G(m, cg::Device::cpu);
  ck.restore(G);
  if (ck.has_discriminator()) {
    cg::gan::Discriminator D(m, cg::Device::cpu);
    ck.restore(D);
    if (ck.has_optimizers()) {
      cg::Adam og(G.params(), cg::AdamConfig{}), od(D.params(), cg::AdamConfig{});
      ck.restore_optimizers(og, od);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const cg::SafeTensors st = cg::parse_safetensors(data, size, "fuzz");
    for (const auto& [name, t] : st.tensors)
      if (!t.defined() || t.name() != name) __builtin_trap();
    try {
      exercise_checkpoint(st);
    } catch (const cg::Error&) {
    }
  } catch (const cg::Error&) {
  }
  return 0;
}
