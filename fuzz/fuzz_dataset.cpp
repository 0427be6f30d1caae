// libFuzzer target: arbitrary bytes opened as a .cgd dataset. Opening must either
// throw cg::Error or give a dataset whose every pixel and label can be read. For
// half the inputs the header CRC is recomputed first, so mutations get past it to
// the layout, padding and label checks behind it.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "data/dataset.h"
#include "base/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  if ((size & 2) && size >= 92) {
    uint32_t header_bytes;
    std::memcpy(&header_bytes, bytes.data() + 12, 4);
    if (header_bytes >= 92 && header_bytes <= size) {
      const uint32_t crc = uint32_t(crc32(0L, bytes.data(), header_bytes - 4));
      std::memcpy(bytes.data() + header_bytes - 4, &crc, 4);
    }
  }
  try {
    const cg::data::Dataset ds = cg::data::Dataset::from_bytes(bytes.data(), bytes.size(), "fuzz", (size & 1) != 0);
    const auto& info = ds.info();
    const size_t image = size_t(info.size) * size_t(info.size) * size_t(info.channels);
    unsigned sum = 0;
    for (int64_t i = 0; i < info.count; ++i) {
      const uint8_t* p = ds.pixels(i);
      sum += p[0] + p[image - 1];
      const int32_t l = ds.label(i);
      if (l < -1 || l >= int32_t(info.genres.size())) __builtin_trap();
    }
    (void)ds.verify_checksums();
    (void)ds.genre_counts();
    static volatile unsigned sink;
    sink = sum;
  } catch (const cg::Error&) {
  }
  return 0;
}
