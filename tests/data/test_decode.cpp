// Decoding: every PNG colour type and bit depth (exact pixels, transparency over
// white, interlaced), each JPEG kind (baseline, progressive, greyscale, CMYK) within
// JPEG's loss, DCT-domain scaling, and clear errors for broken or huge files.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "data/image.h"
#include "data/image_writers.h"

using namespace cg::data;
using cgtest::PngSpec;

namespace {

// What the decoder must produce for a PNG spec: 8-bit RGB over white.
std::vector<uint8_t> expected_rgb(const PngSpec& s) {
  const int ch = cgtest::png_channels(s.color_type);
  const int maxv = (1 << s.bit_depth) - 1;
  auto to8 = [&](uint16_t v) -> unsigned {
    if (s.bit_depth == 16) return unsigned((uint32_t(v) * 255 + 32767) / 65535);
    return unsigned(v) * 255 / unsigned(maxv);  // exact for 1, 2, 4 and 8 bits
  };
  std::vector<uint8_t> out;
  for (int i = 0; i < s.width * s.height; ++i) {
    const uint16_t* p = s.samples.data() + size_t(i) * ch;
    unsigned r, g, b, a = 255;
    if (s.color_type == PNG_COLOR_TYPE_PALETTE) {
      const png_color& c = s.palette[p[0]];
      r = c.red, g = c.green, b = c.blue;
      if (p[0] < s.palette_alpha.size()) a = s.palette_alpha[p[0]];
    } else if (ch <= 2) {
      r = g = b = to8(p[0]);
      if (ch == 2) a = to8(p[1]);
      if (s.has_trns_color && p[0] == s.trns_color.gray) a = 0;
    } else {
      r = to8(p[0]), g = to8(p[1]), b = to8(p[2]);
      if (ch == 4) a = to8(p[3]);
      if (s.has_trns_color && p[0] == s.trns_color.red && p[1] == s.trns_color.green && p[2] == s.trns_color.blue)
        a = 0;
    }
    out.push_back(over_white(uint8_t(r), uint8_t(a)));
    out.push_back(over_white(uint8_t(g), uint8_t(a)));
    out.push_back(over_white(uint8_t(b), uint8_t(a)));
  }
  return out;
}

PngSpec random_png(int color_type, int depth, bool interlaced, uint32_t seed, int w = 13, int h = 11) {
  std::mt19937 rng(seed);
  PngSpec s;
  s.width = w, s.height = h, s.color_type = color_type, s.bit_depth = depth, s.interlaced = interlaced;
  const int ch = cgtest::png_channels(color_type);
  int maxv = (1 << depth) - 1;
  if (color_type == PNG_COLOR_TYPE_PALETTE) {
    const int entries = std::min(1 << depth, 37);
    for (int i = 0; i < entries; ++i)
      s.palette.push_back({uint8_t(rng() & 255), uint8_t(rng() & 255), uint8_t(rng() & 255)});
    maxv = entries - 1;
  }
  for (int i = 0; i < w * h * ch; ++i) s.samples.push_back(uint16_t(rng() % uint32_t(maxv + 1)));
  return s;
}

void check_png(const PngSpec& s) {
  const auto bytes = cgtest::encode_png(s);
  REQUIRE(!bytes.empty());
  const Image img = decode_image(bytes.data(), bytes.size());
  REQUIRE(img.width == s.width);
  REQUIRE(img.height == s.height);
  const auto want = expected_rgb(s);
  REQUIRE(img.rgb.size() == want.size());
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < want.size(); ++i)
    if (img.rgb[i] != want[i] && bad++ == 0) first = i;
  INFO("colour type " << s.color_type << " depth " << s.bit_depth << " interlaced " << s.interlaced << ": " << bad
                      << " wrong bytes, first at " << first << " got " << int(img.rgb[first]) << " want "
                      << int(want[first]));
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("png: every colour type and bit depth decodes to exact RGB") {
  uint32_t seed = 1;
  for (bool interlaced : {false, true}) {
    for (int d : {1, 2, 4, 8, 16}) check_png(random_png(PNG_COLOR_TYPE_GRAY, d, interlaced, seed++));
    for (int d : {1, 2, 4, 8}) check_png(random_png(PNG_COLOR_TYPE_PALETTE, d, interlaced, seed++));
    for (int d : {8, 16}) {
      check_png(random_png(PNG_COLOR_TYPE_GRAY_ALPHA, d, interlaced, seed++));
      check_png(random_png(PNG_COLOR_TYPE_RGB, d, interlaced, seed++));
      check_png(random_png(PNG_COLOR_TYPE_RGB_ALPHA, d, interlaced, seed++));
    }
  }
}

TEST_CASE("png: transparency (alpha, palette tRNS, colour-key tRNS) is composited over white") {
  PngSpec pal = random_png(PNG_COLOR_TYPE_PALETTE, 4, false, 77);
  pal.palette_alpha = {0, 128, 255, 7};  // entries past 3 stay opaque
  check_png(pal);

  PngSpec grey = random_png(PNG_COLOR_TYPE_GRAY, 8, false, 78);
  grey.has_trns_color = true;
  grey.trns_color.gray = grey.samples[5];
  check_png(grey);

  PngSpec rgb = random_png(PNG_COLOR_TYPE_RGB, 16, true, 79);
  rgb.has_trns_color = true;
  rgb.trns_color.red = rgb.samples[0], rgb.trns_color.green = rgb.samples[1], rgb.trns_color.blue = rgb.samples[2];
  check_png(rgb);

  // A fully transparent pixel is pure white; a half-transparent black one is mid grey.
  PngSpec s;
  s.width = 2, s.height = 1, s.color_type = PNG_COLOR_TYPE_RGB_ALPHA, s.bit_depth = 8;
  s.samples = {0, 0, 0, 0, 0, 0, 0, 128};
  const auto bytes = cgtest::encode_png(s);
  const Image img = decode_png(bytes.data(), bytes.size());
  CHECK(img.rgb == std::vector<uint8_t>{255, 255, 255, 127, 127, 127});
}

TEST_CASE("png: hand-checked values for 16-bit and 2-bit grey") {
  PngSpec s;
  s.width = 4, s.height = 1, s.color_type = PNG_COLOR_TYPE_GRAY, s.bit_depth = 16;
  s.samples = {0, 65535, 32768, 257 * 100};
  auto bytes = cgtest::encode_png(s);
  Image img = decode_png(bytes.data(), bytes.size());
  CHECK(img.rgb == std::vector<uint8_t>{0, 0, 0, 255, 255, 255, 128, 128, 128, 100, 100, 100});
  s.bit_depth = 2;
  s.samples = {0, 1, 2, 3};
  bytes = cgtest::encode_png(s);
  img = decode_png(bytes.data(), bytes.size());
  CHECK(img.rgb == std::vector<uint8_t>{0, 0, 0, 85, 85, 85, 170, 170, 170, 255, 255, 255});
}

namespace {

double mean_abs_diff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += std::abs(int(a[i]) - int(b[i]));
  return s / double(a.size());
}

Image decode_spec(const cgtest::JpegSpec& s, const DecodeOptions& opt = {}) {
  const auto bytes = cgtest::encode_jpeg(s);
  REQUIRE(sniff_image(bytes.data(), bytes.size()) == ImageKind::jpeg);
  return decode_image(bytes.data(), bytes.size(), opt);
}

}  // namespace

TEST_CASE("jpeg: baseline and progressive RGB decode within JPEG's loss") {
  cgtest::JpegSpec s;
  s.width = 64, s.height = 48, s.samples = cgtest::smooth_rgb(64, 48);
  for (bool prog : {false, true}) {
    s.progressive = prog;
    const Image img = decode_spec(s);
    REQUIRE(img.width == 64);
    REQUIRE(img.height == 48);
    INFO("progressive " << prog);
    CHECK(mean_abs_diff(img.rgb, s.samples) < 2.0);
  }
}

TEST_CASE("jpeg: greyscale becomes R=G=B") {
  cgtest::JpegSpec s;
  s.width = 40, s.height = 24, s.in_space = JCS_GRAYSCALE;
  for (int y = 0; y < 24; ++y)
    for (int x = 0; x < 40; ++x) s.samples.push_back(uint8_t(x * 6 + y));
  const Image img = decode_spec(s);
  REQUIRE(img.rgb.size() == 40u * 24u * 3u);
  std::vector<uint8_t> want;
  for (uint8_t v : s.samples) want.insert(want.end(), {v, v, v});
  CHECK(mean_abs_diff(img.rgb, want) < 1.5);
  for (size_t i = 0; i < img.rgb.size(); i += 3) {
    CHECK(img.rgb[i] == img.rgb[i + 1]);
    CHECK(img.rgb[i] == img.rgb[i + 2]);
  }
}

TEST_CASE("jpeg: CMYK (Adobe, inverted as Photoshop writes it) converts to RGB") {
  const auto rgb = cgtest::smooth_rgb(32, 32);
  cgtest::JpegSpec s;
  s.width = 32, s.height = 32, s.in_space = JCS_CMYK;
  for (size_t i = 0; i < rgb.size(); i += 3) {
    // K = 255 - max(R,G,B) style separation, stored inverted: C' = 255 - C etc.
    const int k = 255 - std::max({rgb[i], rgb[i + 1], rgb[i + 2]});
    const int kk = 255 - k;  // inverted K
    for (int c = 0; c < 3; ++c) {
      const int cmy = kk == 0 ? 0 : (255 * (kk - rgb[i + size_t(c)]) + kk / 2) / kk;
      s.samples.push_back(uint8_t(255 - cmy));
    }
    s.samples.push_back(uint8_t(kk));
  }
  const Image img = decode_spec(s);
  CHECK(mean_abs_diff(img.rgb, rgb) < 3.0);
}

TEST_CASE("jpeg: DCT-domain scaling keeps the shorter side >= 2 * fit size") {
  cgtest::JpegSpec s;
  s.width = 640, s.height = 480, s.samples = cgtest::smooth_rgb(640, 480);
  DecodeOptions opt;
  opt.fit_size = 64;  // 480/2 = 240 >= 128, 480/4 = 120 < 128: half scale
  Image img = decode_spec(s, opt);
  CHECK(img.width == 320);
  CHECK(img.height == 240);
  opt.fit_size = 16;  // 480/8 = 60 >= 32: eighth scale
  img = decode_spec(s, opt);
  CHECK(img.width == 80);
  CHECK(img.height == 60);
  opt.fit_size = 0;
  img = decode_spec(s, opt);
  CHECK(img.width == 640);
}

TEST_CASE("decode: broken and huge files fail with their reason") {
  cgtest::JpegSpec js;
  js.width = 64, js.height = 64, js.samples = cgtest::smooth_rgb(64, 64);
  const auto jpeg = cgtest::encode_jpeg(js);
  PngSpec ps = random_png(PNG_COLOR_TYPE_RGB, 8, false, 5, 64, 64);
  const auto png = cgtest::encode_png(ps);
  auto kind_of = [](const std::vector<uint8_t>& b, const DecodeOptions& o = {}) {
    try {
      decode_image(b.data(), b.size(), o);
    } catch (const DecodeError& e) {
      return e.kind();
    }
    FAIL("decoded a broken file");
    return SkipKind::unreadable;
  };
  CHECK(kind_of(std::vector<uint8_t>(jpeg.begin(), jpeg.begin() + long(jpeg.size() / 2))) == SkipKind::truncated);
  CHECK(kind_of(std::vector<uint8_t>(png.begin(), png.begin() + long(png.size() / 2))) == SkipKind::truncated);
  CHECK(kind_of({}) == SkipKind::empty);
  const std::string text = "hello, I am not a PNG";
  CHECK(kind_of(std::vector<uint8_t>(text.begin(), text.end())) == SkipKind::not_image);
  auto bad_png = png;
  bad_png[40] ^= 0xFF;  // inside IDAT: its CRC no longer matches
  CHECK(kind_of(bad_png) == SkipKind::corrupt);
  auto bad_jpeg = jpeg;
  std::fill(bad_jpeg.begin() + 20, bad_jpeg.begin() + 60, 0);  // quantisation tables gone
  CHECK(kind_of(bad_jpeg) == SkipKind::corrupt);
  DecodeOptions small;
  small.max_pixels = 64 * 63;
  CHECK(kind_of(jpeg, small) == SkipKind::too_large);
  CHECK(kind_of(png, small) == SkipKind::too_large);
}

TEST_CASE("decode: a huge-dimension header is refused before any pixel is decoded") {
  PngSpec s;
  s.width = 4, s.height = 4, s.color_type = PNG_COLOR_TYPE_GRAY, s.bit_depth = 8;
  s.samples.assign(16, 7);
  auto bytes = cgtest::encode_png(s);
  // Patch IHDR to 100000 x 100000 (and leave the image data as it is): refused from the header.
  for (int k = 0; k < 2; ++k) {
    const uint32_t v = 100000;
    for (int b = 0; b < 4; ++b) bytes[size_t(16 + 4 * k + b)] = uint8_t(v >> (24 - 8 * b));
  }
  try {
    decode_image(bytes.data(), bytes.size());
    FAIL("decoded a 10-gigapixel header");
  } catch (const DecodeError& e) {
    CHECK(e.kind() == SkipKind::too_large);
    CHECK(std::string(e.what()).find("100000x100000") != std::string::npos);
  }
  int64_t w = 0, h = 0;
  CHECK(probe_image_size(bytes.data(), bytes.size(), w, h));
  CHECK(w == 100000);
}
