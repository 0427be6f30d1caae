// The speckle section of eval (see eval_speckle.h).
#include "eval/eval_speckle.h"

#include <algorithm>
#include <cmath>

#include "data/plot.h"
#include "eval/spectrum.h"

namespace cg::gan {
namespace {

using json = nlohmann::json;

json set_json(const SetSpectrum& s) {
  return {{"laplacian", s.laplacian}, {"high_share", s.high_share}, {"corner_power", s.corner_power}, {"n", s.n},
          {"ring", s.ring}};
}

double ratio_of(double generated, double real) { return real > 0 ? generated / real : NAN; }

// The grey line at r = S/2 in both plots: right of it, the corners' diagonal frequencies.
XMark nyquist_mark(int S) { return {S / 2.0, "S/2: the corners beyond"}; }

const std::array<uint8_t, 3> kColors[] = {{200, 50, 50}, {40, 110, 200}, {40, 150, 60}, {200, 140, 20},
                                          {140, 60, 170}, {20, 160, 160}, {120, 120, 120}, {230, 90, 160}};
// The spectrum plots' x axis (write_line_plot's panels run over iterations).
const char* const kRingAxis = "frequency ring r (cycles per image side)";

}  // namespace

json speckle_section(const data::Dataset& ds, const std::vector<std::vector<int64_t>>& real_by_genre,
                     const std::vector<std::string>& genres, const Tensor& generated,
                     const std::vector<int32_t>& generated_genre, const std::string& out_dir) {
  const int S = ds.info().size;
  const size_t per = 3 * size_t(S) * size_t(S), plane = size_t(S) * size_t(S);
  const float* gp = generated.data<float>();
  std::vector<float> all_real, all_gen;
  json pg = json::array();
  std::vector<PlotSeries> ratios;
  std::vector<double> freq;
  for (int r = 0; r < spectrum_rings(S); ++r) freq.push_back(double(r));  // ring r: r cycles per S pixels
  for (size_t g = 0; g < genres.size(); ++g) {
    std::vector<float> real, gen;
    for (int64_t i : real_by_genre[g]) {
      const uint8_t* px = ds.pixels(i);  // (S,S,3)
      const size_t at = real.size();
      real.resize(at + per);
      for (size_t p = 0; p < plane; ++p)
        for (size_t c = 0; c < 3; ++c) real[at + c * plane + p] = px[p * 3 + c];
    }
    for (size_t i = 0; i < generated_genre.size(); ++i)
      if (generated_genre[i] == int32_t(g))
        for (size_t k = 0; k < per; ++k) gen.push_back((gp[i * per + k] + 1.0f) * 127.5f);
    const SetSpectrum sr = set_spectrum(real.data(), int64_t(real.size() / per), S);
    const SetSpectrum sg = set_spectrum(gen.data(), int64_t(gen.size() / per), S);
    std::vector<double> ratio;
    for (size_t r = 0; r < sr.ring.size(); ++r) ratio.push_back(sr.ring[r] > 0 ? sg.ring[r] / sr.ring[r] : NAN);
    pg.push_back({{"genre", genres[g]},
                  {"real", set_json(sr)},
                  {"generated", set_json(sg)},
                  {"laplacian_ratio", ratio_of(sg.laplacian, sr.laplacian)},
                  {"high_share_ratio", ratio_of(sg.high_share, sr.high_share)},
                  {"corner_ratio", ratio_of(sg.corner_power, sr.corner_power)},
                  {"ring_ratio", ratio}});
    // log2 of the ratio, no DC: past S/2 the ratio can reach 100x, and 0.5x must stay readable
    std::vector<double> x(freq.begin() + 1, freq.end()), y;
    for (size_t r = 1; r < ratio.size(); ++r) y.push_back(ratio[r] > 0 ? std::log2(ratio[r]) : NAN);
    ratios.push_back({genres[g], kColors[g % 8], x, y});
    all_real.insert(all_real.end(), real.begin(), real.end());
    all_gen.insert(all_gen.end(), gen.begin(), gen.end());
  }
  const SetSpectrum ar = set_spectrum(all_real.data(), int64_t(all_real.size() / per), S);
  const SetSpectrum ag = set_spectrum(all_gen.data(), int64_t(all_gen.size() / per), S);
  std::vector<double> x(freq.begin() + 1, freq.end()), lr, lg;
  for (size_t r = 1; r < ar.ring.size(); ++r)
    lr.push_back(std::log10(std::max(ar.ring[r], 1e-12))), lg.push_back(std::log10(std::max(ag.ring[r], 1e-12)));
  write_line_panels(out_dir + "/spectrum.png",
                    {LinePanel{"log10 power per frequency ring r (r cycles per image side), all genres", kRingAxis,
                               "log10 power",
                               {{"real", {40, 140, 60}, x, lr}, {"generated", {200, 50, 50}, x, lg}},
                               {nyquist_mark(S)}}},
                    800, 400);
  ratios.push_back({"as real", {0, 0, 0}, {x.front(), x.back()}, {0.0, 0.0}});
  write_line_panels(out_dir + "/spectrum_ratio.png",
                    {LinePanel{"generated / real power per frequency ring r (0: as real, 1: twice, -1: half)",
                               kRingAxis, "log2 power ratio", ratios, {nyquist_mark(S)}}},
                    800, 400);
  return {{"per_genre", pg},
          {"overall",
           {{"real", set_json(ar)},
            {"generated", set_json(ag)},
            {"laplacian_ratio", ratio_of(ag.laplacian, ar.laplacian)},
            {"high_share_ratio", ratio_of(ag.high_share, ar.high_share)},
            {"corner_ratio", ratio_of(ag.corner_power, ar.corner_power)}}},
          {"ring_cycles_per_side", freq},
          {"figures", {"spectrum.png", "spectrum_ratio.png"}}};
}

}  // namespace cg::gan
