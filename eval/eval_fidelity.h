// eval's fidelity and diversity numbers in the baseline classifier's feature space
// (eval/features.h): per genre and overall, the Fréchet distance of generated covers to
// real ones with a bootstrap interval, beside the same distance between two halves of the
// real covers (the value a generator that drew new real covers would get at these sample
// sizes), and k-NN precision and recall the same way. Real covers are those the feature
// classifier never trained on; generated covers are subsampled to the size of a real half.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "gan/discriminator.h"

namespace cg::gan {

struct FidelityInputs {
  Discriminator* model = nullptr;    // the feature classifier
  std::vector<uint64_t> trained_on;  // its training covers' pixel hashes, ascending (empty: unknown)
  std::string model_name;            // where it came from, for the report
  const data::Dataset* ds = nullptr;
  std::vector<std::string> genres;
  const Tensor* generated = nullptr;  // (N,3,S,S) host f32 in [-1,1]
  std::vector<int32_t> generated_genre;
  uint64_t seed = 1;
  int bootstrap = 50;
  int batch = 64;
  bool quiet = false;
};

nlohmann::json fidelity_section(const FidelityInputs& in);

}  // namespace cg::gan
