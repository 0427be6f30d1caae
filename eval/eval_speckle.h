// eval's speckle section: per genre, the high-frequency energy of generated covers against
// real ones (eval/spectrum.h): mean squared Laplacian, the share of power above a quarter
// of the sampling rate, the power in the spectrum's corners (past S/2), the radially
// averaged spectra to the corner, and two plots: the spectra of all real and all generated
// covers, and per genre the ratio generated / real per frequency.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "engine/tensor.h"

namespace cg::gan {

// real_by_genre: dataset indices per genre; generated (N,3,S,S) host f32 in [-1,1].
// Writes spectrum.png and spectrum_ratio.png into out_dir.
nlohmann::json speckle_section(const data::Dataset& ds, const std::vector<std::vector<int64_t>>& real_by_genre,
                               const std::vector<std::string>& genres, const Tensor& generated,
                               const std::vector<int32_t>& generated_genre, const std::string& out_dir);

}  // namespace cg::gan
