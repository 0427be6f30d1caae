// `covergan msssim A B`: the MS-SSIM of two images, each fitted to the square the
// way `prepare` fits covers (centre crop, area downscale); the value is the last line.
#include <cstdio>

#include "apps/commands.h"
#include "data/fit.h"
#include "data/image.h"
#include "base/check.h"
#include "eval/msssim.h"

namespace covergan {
namespace {

struct Settings {
  std::string a, b, scales = "5";
  int size = 64;
  bool verbose = false;
} s;

void add_options(CLI::App& app) {
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("A", s.a, "An image (PNG or JPEG)")->required();
  app.add_option("B", s.b, "Another image")->required();
  app.add_option("--size", s.size, "Fit both to this square first, as `prepare` does (default 64)")
      ->check(CLI::Range(16, 4096));
  app.add_flag("-v,--verbose", s.verbose, "Also print SSIM and CS at each scale");
  app.add_option("--scales", s.scales,
                 "Scales: 5 (the paper's, default), 1-4 (weights renormalised), or auto (coarsest scale >= 8 px)");
}

// The image fitted to size x size, as (3,S,S) floats on [0,255].
std::vector<float> load_fitted(const std::string& path) {
  std::vector<uint8_t> bytes;
  cg::data::Image img;
  try {
    bytes = cg::data::read_file_bytes(path);
    img = cg::data::decode_image(bytes.data(), bytes.size(), {50'000'000, s.size});
  } catch (const cg::data::DecodeError& e) {
    throw cg::Error(cg::detail::cat("Cannot read the image ", path, ": ", e.what()));
  }
  std::vector<uint8_t> px(size_t(s.size) * size_t(s.size) * 3);
  cg::data::fit_square(px.data(), s.size, img.rgb.data(), img.width, img.height);
  std::vector<float> out(px.size());
  const size_t plane = size_t(s.size) * size_t(s.size);
  for (size_t p = 0; p < plane; ++p)
    for (size_t c = 0; c < 3; ++c) out[c * plane + p] = float(px[p * 3 + c]);
  return out;
}

int run_msssim() {
  const auto a = load_fitted(s.a), b = load_fitted(s.b);
  int n = 0;
  if (s.scales == "auto") {
    n = cg::gan::msssim_auto_scales(s.size);
  } else {
    CG_USER_CHECK(s.scales.size() == 1 && s.scales[0] >= '1' && s.scales[0] <= '5',
                  "--scales takes a number from 1 to 5 or auto, got \"", s.scales, "\".");
    n = s.scales[0] - '0';
  }
  double ss[cg::gan::kMsssimScales], cs[cg::gan::kMsssimScales];
  const double v = cg::gan::msssim(a.data(), b.data(), 3, s.size, s.size, ss, cs, n);
  const std::vector<double> w = cg::gan::msssim_weights(n);
  if (s.verbose)
    for (int j = 0; j < n; ++j)
      std::printf("scale %d (%dx%d): SSIM %.6f CS %.6f weight %.4f\n", j + 1, s.size >> j, s.size >> j, ss[j], cs[j],
                  w[size_t(j)]);
  std::printf("%.6f\n", v);
  return 0;
}

Registrar reg({"msssim", "MS-SSIM of two images (fitted to --size as `prepare` does); prints the value last",
               add_options, run_msssim});

}  // namespace
}  // namespace covergan
