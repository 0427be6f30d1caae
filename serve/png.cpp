// In-memory PNG of a row of covers (see png.h).
#include "serve/png.h"

#include <png.h>
#include <zlib.h>

#include <csetjmp>
#include <cstring>
#include <vector>

#include "base/check.h"
#include "engine/normalize.h"

namespace cg::serve {
namespace {

struct Sink {
  std::string bytes;
  char msg[200] = "";
};

void on_write(png_structp png, png_bytep data, png_size_t n) {
  static_cast<Sink*>(png_get_io_ptr(png))->bytes.append(reinterpret_cast<const char*>(data), n);
}
void on_flush(png_structp) {}
void on_error(png_structp png, png_const_charp msg) {
  Sink* s = static_cast<Sink*>(png_get_error_ptr(png));
  std::snprintf(s->msg, sizeof s->msg, "%s", msg);
  png_longjmp(png, 1);
}
void on_warning(png_structp, png_const_charp) {}

// The libpng calls that may longjmp, kept apart from anything with a destructor.
bool write_rows(png_structp png, png_infop info, png_bytep* rows, png_uint_32 w, png_uint_32 h) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_compression_level(png, Z_BEST_SPEED);
  png_set_IHDR(png, info, w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  return true;
}

}  // namespace

std::string encode_png(const uint8_t* rgb, int width, int height) {
  CG_CHECK(rgb && width > 0 && height > 0, "encode_png: bad image ", width, "x", height);
  Sink sink;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &sink, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  CG_CHECK(png && info, "encode_png: libpng could not start");
  png_set_write_fn(png, &sink, on_write, on_flush);
  std::vector<png_bytep> rows(static_cast<size_t>(height));
  for (int y = 0; y < height; ++y) rows[size_t(y)] = const_cast<png_bytep>(rgb + size_t(y) * size_t(width) * 3);
  const bool ok = write_rows(png, info, rows.data(), png_uint_32(width), png_uint_32(height));
  png_destroy_write_struct(&png, &info);
  CG_CHECK(ok, "encode_png: ", sink.msg);
  return std::move(sink.bytes);
}

std::string covers_png(const Tensor& images, int scale) {
  CG_CHECK(images.defined() && images.ndim() == 4 && images.dim(1) == 3 && images.dim(0) >= 1,
           "covers_png: needs (N,3,S,S) images");
  CG_CHECK(scale >= 1 && scale <= 16, "covers_png: scale ", scale, " out of range");
  const Tensor u8 = images_f32_to_u8(images.to(Device::cpu));  // (N,S,S,3)
  const uint8_t* px = u8.data<uint8_t>();
  const int n = int(images.dim(0)), h = int(images.dim(2)), w = int(images.dim(3));
  const int gap = n > 1 ? 2 * scale : 0;
  const int W = n * w * scale + (n - 1) * gap, H = h * scale;
  std::vector<uint8_t> canvas(size_t(W) * size_t(H) * 3, 255);
  for (int i = 0; i < n; ++i)
    for (int y = 0; y < H; ++y) {
      const uint8_t* src = px + ((size_t(i) * h + size_t(y / scale)) * size_t(w)) * 3;
      uint8_t* dst = canvas.data() + (size_t(y) * W + size_t(i) * (w * scale + gap)) * 3;
      for (int x = 0; x < w * scale; ++x) std::memcpy(dst + size_t(x) * 3, src + size_t(x / scale) * 3, 3);
    }
  return encode_png(canvas.data(), W, H);
}

}  // namespace cg::serve
