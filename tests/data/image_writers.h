// Test helpers: PNG and JPEG files written in memory with libpng and libjpeg, so
// every colour type, bit depth and JPEG kind can be decoded against known pixels.
#pragma once
#include <cstddef>
#include <cstdio>
// clang-format off
#include <jpeglib.h>
// clang-format on
#include <png.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace cgtest {

struct PngSpec {
  int width = 0, height = 0;
  int color_type = PNG_COLOR_TYPE_RGB;  // GRAY, GRAY_ALPHA, RGB, RGB_ALPHA, PALETTE
  int bit_depth = 8;
  bool interlaced = false;
  std::vector<uint16_t> samples;  // (h, w, channels) in [0, 2^bit_depth); palette: indices
  std::vector<png_color> palette;
  std::vector<uint8_t> palette_alpha;  // tRNS for a palette image
  bool has_trns_color = false;         // tRNS for grey / RGB: one fully transparent colour
  png_color_16 trns_color{};
};

inline int png_channels(int color_type) {
  switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 1;  // palette
  }
}

inline void png_to_vector(png_structp png, png_bytep data, png_size_t n) {
  auto* out = static_cast<std::vector<uint8_t>*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + n);
}

// Packs samples MSB first (bit depths 1/2/4), big-endian for 16 bits, as the PNG spec says.
inline std::vector<uint8_t> encode_png(const PngSpec& s) {
  std::vector<uint8_t> out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return {};
  }
  png_set_write_fn(png, &out, png_to_vector, nullptr);
  png_set_IHDR(png, info, png_uint_32(s.width), png_uint_32(s.height), s.bit_depth, s.color_type,
               s.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (!s.palette.empty()) png_set_PLTE(png, info, s.palette.data(), int(s.palette.size()));
  if (!s.palette_alpha.empty())
    png_set_tRNS(png, info, s.palette_alpha.data(), int(s.palette_alpha.size()), nullptr);
  if (s.has_trns_color) png_set_tRNS(png, info, nullptr, 0, const_cast<png_color_16p>(&s.trns_color));
  const int ch = png_channels(s.color_type);
  const size_t row_bytes = (size_t(s.width) * ch * s.bit_depth + 7) / 8;
  std::vector<uint8_t> packed(row_bytes * size_t(s.height), 0);
  for (int y = 0; y < s.height; ++y) {
    uint8_t* row = packed.data() + size_t(y) * row_bytes;
    for (int i = 0; i < s.width * ch; ++i) {
      const uint16_t v = s.samples[size_t(y) * size_t(s.width) * ch + size_t(i)];
      if (s.bit_depth == 16) {
        row[2 * i] = uint8_t(v >> 8);
        row[2 * i + 1] = uint8_t(v);
      } else if (s.bit_depth == 8) {
        row[i] = uint8_t(v);
      } else {
        const int per = 8 / s.bit_depth, shift = 8 - s.bit_depth * (i % per + 1);
        row[i / per] |= uint8_t(v << shift);
      }
    }
  }
  std::vector<png_bytep> rows(size_t(s.height));
  for (int y = 0; y < s.height; ++y) rows[size_t(y)] = packed.data() + size_t(y) * row_bytes;
  png_set_rows(png, info, rows.data());
  png_write_png(png, info, PNG_TRANSFORM_IDENTITY, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

struct JpegSpec {
  int width = 0, height = 0;
  J_COLOR_SPACE in_space = JCS_RGB;  // JCS_RGB (3 samples), JCS_GRAYSCALE (1), JCS_CMYK (4)
  std::vector<uint8_t> samples;      // (h, w, components)
  int quality = 95;
  bool progressive = false;
};

inline std::vector<uint8_t> encode_jpeg(const JpegSpec& s) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = JDIMENSION(s.width);
  c.image_height = JDIMENSION(s.height);
  c.in_color_space = s.in_space;
  c.input_components = s.in_space == JCS_GRAYSCALE ? 1 : s.in_space == JCS_CMYK ? 4 : 3;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, s.quality, TRUE);
  if (s.progressive) jpeg_simple_progression(&c);
  jpeg_start_compress(&c, TRUE);
  const size_t stride = size_t(s.width) * size_t(c.input_components);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(s.samples.data() + c.next_scanline * stride);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  std::vector<uint8_t> out(buf, buf + size);
  jpeg_destroy_compress(&c);
  std::free(buf);
  return out;
}

// A smooth, colourful test picture (JPEG-friendly): (h, w, 3).
inline std::vector<uint8_t> smooth_rgb(int w, int h) {
  std::vector<uint8_t> px(size_t(w) * size_t(h) * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = px.data() + (size_t(y) * size_t(w) + size_t(x)) * 3;
      p[0] = uint8_t(255 * x / (w - 1));
      p[1] = uint8_t(255 * y / (h - 1));
      p[2] = uint8_t(128 + 100 * (x + y) / (w + h) - 50);
    }
  return px;
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return;
  if (!b.empty()) std::fwrite(b.data(), 1, b.size(), f);
  std::fclose(f);
}

}  // namespace cgtest
