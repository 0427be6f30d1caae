// PNG decoding with libpng: every colour type and bit depth (palette, grey,
// grey+alpha, RGB, RGBA; 1..16 bits; interlaced) to 8-bit RGB over white.
// libpng reports errors by longjmp, so its calls live in C-style functions
// whose frames hold no C++ objects; buffers are allocated between the phases.
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>

#include "data/image.h"

namespace cg::data {
namespace {

struct PngCtx {
  png_structp png = nullptr;
  png_infop info = nullptr;
  const uint8_t* data = nullptr;
  size_t size = 0, pos = 0;
  bool truncated = false;
  char msg[200] = {0};
  png_uint_32 width = 0, height = 0;
  int channels = 0;  // after the transforms: 3 or 4
};

void png_error_fn(png_structp png, png_const_charp msg) {
  auto* c = static_cast<PngCtx*>(png_get_error_ptr(png));
  std::snprintf(c->msg, sizeof c->msg, "%s", msg);
  png_longjmp(png, 1);
}

void png_warning_fn(png_structp, png_const_charp) {}  // benign (bad ancillary chunk, ...)

void png_read_fn(png_structp png, png_bytep out, png_size_t n) {
  auto* c = static_cast<PngCtx*>(png_get_io_ptr(png));
  if (n > c->size - c->pos) {
    c->truncated = true;
    png_error(png, "file ends early");
  }
  std::memcpy(out, c->data + c->pos, n);
  c->pos += n;
}

// Phase 1: signature, header, transforms. Only POD locals: it may be longjmp'ed out of.
bool png_read_header_c(PngCtx* c) {
  if (setjmp(png_jmpbuf(c->png))) return false;
  png_set_read_fn(c->png, c, png_read_fn);
  // Our own pixel limit decides what is too large, so lift libpng's width/height caps.
  png_set_user_limits(c->png, 0x7fffffff, 0x7fffffff);
  png_set_crc_action(c->png, PNG_CRC_DEFAULT, PNG_CRC_WARN_DISCARD);
  png_read_info(c->png, c->info);
  c->width = png_get_image_width(c->png, c->info);
  c->height = png_get_image_height(c->png, c->info);
  int color = png_get_color_type(c->png, c->info);
  png_set_expand(c->png);  // palette -> RGB, grey 1/2/4 -> 8, tRNS -> alpha
  png_set_scale_16(c->png);  // 16 -> 8 bits, rounded (not truncated)
  if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(c->png);
  png_set_interlace_handling(c->png);
  png_read_update_info(c->png, c->info);
  c->channels = png_get_channels(c->png, c->info);
  return true;
}

// Phase 2: all rows into rows[] (prepared by the caller).
bool png_read_rows_c(PngCtx* c, png_bytepp rows) {
  if (setjmp(png_jmpbuf(c->png))) return false;
  png_read_image(c->png, rows);
  return true;
}

[[noreturn]] void throw_png(const PngCtx& c) {
  if (c.truncated) throw DecodeError(SkipKind::truncated, "truncated PNG: the file ends before the image data does");
  throw DecodeError(SkipKind::corrupt, std::string("corrupt PNG: ") + c.msg);
}

struct PngGuard {
  PngCtx* c;
  ~PngGuard() { png_destroy_read_struct(&c->png, &c->info, nullptr); }
};

}  // namespace

Image decode_png(const uint8_t* data, size_t n, const DecodeOptions& opt) {
  if (n < 8 || png_sig_cmp(data, 0, 8) != 0) throw DecodeError(SkipKind::not_image, "not a PNG file");
  int64_t pw = 0, ph = 0;
  if (probe_image_size(data, n, pw, ph)) check_pixel_limit(pw, ph, opt.max_pixels);  // before libpng allocates
  PngCtx c;
  c.data = data;
  c.size = n;
  c.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, png_error_fn, png_warning_fn);
  CG_CHECK(c.png, "png_create_read_struct failed");
  PngGuard guard{&c};
  c.info = png_create_info_struct(c.png);
  CG_CHECK(c.info, "png_create_info_struct failed");
  if (!png_read_header_c(&c)) throw_png(c);

  const int64_t pixels = int64_t(c.width) * int64_t(c.height);
  check_pixel_limit(c.width, c.height, opt.max_pixels);
  CG_CHECK(c.channels == 3 || c.channels == 4, "PNG transforms gave ", c.channels, " channels");

  Image img;
  img.width = int(c.width);
  img.height = int(c.height);
  std::vector<uint8_t> buf(size_t(pixels) * size_t(c.channels));
  std::vector<png_bytep> rows(c.height);
  for (size_t y = 0; y < c.height; ++y) rows[y] = buf.data() + y * c.width * size_t(c.channels);
  if (!png_read_rows_c(&c, rows.data())) throw_png(c);

  if (c.channels == 3) {
    img.rgb = std::move(buf);
  } else {
    img.rgb.resize(size_t(pixels) * 3);
    const uint8_t* s = buf.data();
    uint8_t* d = img.rgb.data();
    for (int64_t i = 0; i < pixels; ++i, s += 4, d += 3) {
      const uint8_t a = s[3];
      if (a == 255) {
        d[0] = s[0], d[1] = s[1], d[2] = s[2];
      } else {
        d[0] = over_white(s[0], a), d[1] = over_white(s[1], a), d[2] = over_white(s[2], a);
      }
    }
  }
  return img;
}

}  // namespace cg::data
