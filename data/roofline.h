// The roofline picture of `covergan train --profile`: arithmetic intensity (FLOP per
// byte, log scale) against achieved GFLOP/s (log scale), the two measured ceilings (the
// memory bandwidth's slope and the FMA peak's flat roof) and one point per layer and
// pass, coloured by pass and labelled with its layer.
#pragma once
#include <string>
#include <vector>

namespace cg::data {

struct RooflinePoint {
  std::string label;  // "D.conv3"
  std::string pass;   // "forward", "backward-data", "backward-weight", "backward", "update"
  double intensity;   // FLOP/byte
  double gflops;      // achieved GFLOP/s
};

// Writes a width x height RGB PNG (temporary name, then rename). peak_gflops and
// bandwidth_gbs are the ceilings (0: not drawn); points without a positive intensity
// and rate are left out.
void write_roofline_png(const std::string& path, const std::vector<RooflinePoint>& points, double peak_gflops,
                        double bandwidth_gbs, const std::string& title, int width = 900, int height = 560);

}  // namespace cg::data
