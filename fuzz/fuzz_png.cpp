// libFuzzer target: arbitrary bytes through the PNG decoder and the fit; any
// outcome but a clean image or a DecodeError (a crash, a leak, UB) is a bug.
#include <cstddef>
#include <cstdint>

#include "data/fit.h"
#include "data/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cg::data::DecodeOptions opt;
  opt.max_pixels = 1 << 22;  // keeps the fuzzer's memory bounded; the limit logic is under test too
  try {
    const cg::data::Image img = cg::data::decode_png(data, size, opt);
    if (img.rgb.size() != size_t(img.width) * size_t(img.height) * 3) __builtin_trap();
    cg::data::fit_square(img, 16);
  } catch (const cg::data::DecodeError&) {
  }
  return 0;
}
