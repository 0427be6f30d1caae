// Small inputs for the evaluation tests: a labeled set of striped genres (each genre its
// own hue and orientation) and a checkpoint of an untrained 16x16 model.
#pragma once
#include <string>
#include <vector>

namespace evaltest {

// per_genre covers of each genre, S x S, into a .cgd at path.
void write_stripes(const std::string& path, int per_genre, int S, const std::vector<std::string>& genres,
                   uint32_t seed = 3);

// An untrained G and D (base 4 channels, batch 16, weights N(0, init_std)) saved as
// dir/run/checkpoints/step_00000001.safetensors, recording data as its training file
// (with no holdout: every cover of it trained on);
// returns the checkpoint's path.
std::string write_checkpoint(const std::string& dir, const std::string& data, const std::vector<std::string>& genres,
                             int S, double init_std = 0.02);

}  // namespace evaltest
