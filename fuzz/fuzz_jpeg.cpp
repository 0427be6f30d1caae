// libFuzzer target: arbitrary bytes through the JPEG decoder (full size and with
// DCT-domain scaling) and the fit; only a clean image or a DecodeError may come out.
#include <cstddef>
#include <cstdint>

#include "data/fit.h"
#include "data/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cg::data::DecodeOptions opt;
  opt.max_pixels = 1 << 22;  // keeps the fuzzer's memory bounded
  opt.fit_size = (size & 1) ? 16 : 0;
  try {
    const cg::data::Image img = cg::data::decode_jpeg(data, size, opt);
    if (img.rgb.size() != size_t(img.width) * size_t(img.height) * 3) __builtin_trap();
    cg::data::fit_square(img, 16);
  } catch (const cg::data::DecodeError&) {
  }
  return 0;
}
