// Internal to data/dataset*.cpp: the .cgd layout constants and the offset
// arithmetic shared by the reader and the writer (docs/formats.md is the spec).
#pragma once
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace cg::data::cgd {

static_assert(std::endian::native == std::endian::little, "the .cgd reader assumes a little-endian host");

inline constexpr uint8_t kMagic[8] = {0x89, 'C', 'G', 'D', '\r', '\n', 0x1A, '\n'};
inline constexpr uint32_t kVersion = 1;
inline constexpr size_t kFixedHeader = 88;  // bytes before the genre table
inline constexpr uint32_t kBlockImages = 1024;
inline constexpr size_t kPixelAlign = 4096;
inline constexpr size_t kMaxHeader = size_t(1) << 20;
inline constexpr size_t kMaxGenres = 4096;
inline constexpr size_t kMaxGenreName = 255;
inline constexpr int kMaxSize = 4096;

// Byte offsets of the fixed header fields.
enum Field : size_t {
  kOffVersion = 8, kOffHeaderBytes = 12, kOffCount = 16, kOffSize = 24, kOffChannels = 28,
  kOffGenreCount = 32, kOffBlockImages = 36, kOffPixels = 40, kOffLabels = 48, kOffChecksums = 56,
  kOffFileSize = 64, kOffReserved = 72
};

inline uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

template <class T>
T get(const uint8_t* p, size_t off) {
  T v;
  std::memcpy(&v, p + off, sizeof v);
  return v;
}
template <class T>
void put(uint8_t* p, size_t off, T v) {
  std::memcpy(p + off, &v, sizeof v);
}

// Where everything lies, from the counts alone: the reader recomputes it and compares.
struct Layout {
  uint64_t header_bytes = 0, pixels_offset = 0, pixel_bytes = 0, labels_offset = 0;
  uint64_t checksums_offset = 0, blocks = 0, file_size = 0, image_bytes = 0;
};

inline uint64_t genre_table_bytes(const std::vector<std::string>& genres) {
  uint64_t b = 0;
  for (const auto& g : genres) b += 2 + g.size();
  return b;
}

// Callers bound count, size and channels first, so nothing here overflows.
inline Layout layout(uint64_t genre_table, uint64_t count, uint32_t size, uint32_t channels, uint32_t block) {
  Layout l;
  l.header_bytes = kFixedHeader + genre_table + 4;
  l.pixels_offset = align_up(l.header_bytes, kPixelAlign);
  l.image_bytes = uint64_t(size) * size * channels;
  l.pixel_bytes = count * l.image_bytes;
  l.labels_offset = align_up(l.pixels_offset + l.pixel_bytes, 8);
  l.checksums_offset = align_up(l.labels_offset + 4 * count, 8);
  l.blocks = (count + block - 1) / block;
  l.file_size = l.checksums_offset + 4 * (l.blocks + 2);
  return l;
}

// Serialises the header (fixed part, genre table, header CRC) for the writer.
std::vector<uint8_t> encode_header(uint64_t count, uint32_t size, uint32_t channels,
                                   const std::vector<std::string>& genres, const Layout& l);

}  // namespace cg::data::cgd
