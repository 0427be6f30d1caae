// Standing statistics (Brock, Donahue & Simonyan 2019, BigGAN, appendix C): batch norm's
// running statistics measured afresh with a generator's own weights. The weight average's
// running statistics are otherwise an average of *other* weights' statistics.
#pragma once
#include <cstdint>

#include "gan/generator.h"

namespace cg::gan {

// Replaces every running mean and variance of G's batch norm with the average, over
// `batches` forward passes in training mode, of each batch's statistics (each batch holds
// `batch` covers of mixed genres drawn from Philox(seed)); G's weights are untouched.
void measure_standing_stats(Generator& G, int batches, int batch, uint64_t seed);

}  // namespace cg::gan
