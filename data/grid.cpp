// Sample grids (data/grid.h): images tiled on a white canvas with a gap, the
// genre name of each row drawn at its left in DejaVu Sans (data/chart), written as PNG via
// libpng to a temporary name and renamed.
#include "data/grid.h"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "data/chart.h"
#include "engine/io_util.h"
#include "engine/normalize.h"

namespace cg::data {
namespace {

struct PngWriteCtx {
  png_structp png = nullptr;
  png_infop info = nullptr;
  char msg[200] = {0};
};

void png_write_error(png_structp png, png_const_charp msg) {
  auto* c = static_cast<PngWriteCtx*>(png_get_error_ptr(png));
  std::snprintf(c->msg, sizeof c->msg, "%s", msg);
  png_longjmp(png, 1);
}

// Only POD locals: libpng may longjmp out of it.
bool png_write_c(PngWriteCtx* c, FILE* f, png_bytepp rows, png_uint_32 w, png_uint_32 h) {
  if (setjmp(png_jmpbuf(c->png))) return false;
  png_init_io(c->png, f);
  png_set_IHDR(c->png, c->info, w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_set_compression_level(c->png, 6);
  png_write_info(c->png, c->info);
  png_write_image(c->png, rows);
  png_write_end(c->png, c->info);
  return true;
}

}  // namespace

void write_png_rgb(const std::string& path, const uint8_t* rgb, int width, int height) {
  CG_CHECK(width > 0 && height > 0 && rgb, "write_png_rgb: bad image ", width, "x", height);
  const std::string tmp = temp_path(path);
  FILE* f = std::fopen(tmp.c_str(), "wb");
  CG_USER_CHECK(f, "Cannot create ", tmp, ": ", std::strerror(errno), ".");
  PngWriteCtx c;
  c.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &c, png_write_error, nullptr);
  if (c.png) c.info = png_create_info_struct(c.png);
  std::vector<png_bytep> rows(static_cast<size_t>(height));
  for (int y = 0; y < height; ++y) rows[size_t(y)] = const_cast<png_bytep>(rgb + size_t(y) * size_t(width) * 3);
  const bool ok = c.png && c.info && png_write_c(&c, f, rows.data(), png_uint_32(width), png_uint_32(height));
  png_destroy_write_struct(&c.png, &c.info);
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) std::remove(tmp.c_str());
  CG_USER_CHECK(ok, "Cannot write the PNG ", path, ": ", c.msg[0] ? c.msg : "libpng failed", ".");
  CG_USER_CHECK(closed, "Cannot write the PNG ", path, ": ", std::strerror(errno), ".");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());  // the finished PNG is of no use under its temporary name
    CG_USER_CHECK(false, "Cannot rename ", tmp, " to ", path, ": ", std::strerror(err), ".");
  }
}

void write_grid_png(const std::string& path, const Tensor& images, int cols, const std::vector<std::string>& row_labels,
                    int gap) {
  CG_CHECK(images.defined() && images.ndim() == 4 && images.dim(1) == 3, "write_grid_png: needs (N,3,H,W) images, got ",
           images.defined() ? images.describe() : std::string("an undefined tensor"));
  CG_CHECK(cols >= 1 && gap >= 0, "write_grid_png: cols ", cols, " and gap ", gap, " must be positive");
  const int n = int(images.dim(0)), h = int(images.dim(2)), w = int(images.dim(3));
  CG_CHECK(n >= 1, "write_grid_png: no images");
  const int rows = (n + cols - 1) / cols;
  CG_CHECK(row_labels.empty() || int(row_labels.size()) == rows, "write_grid_png: ", row_labels.size(),
           " row labels for ", rows, " rows");
  const Tensor u8 = images_f32_to_u8(images).to(Device::cpu);  // (N,H,W,3)
  const uint8_t* px = u8.data<uint8_t>();

  // The names in DejaVu Sans (data/chart), sized with the images so a name stays readable
  // beside 32- or 128-pixel covers.
  const double font_px = std::max(9.0, 0.3 * h), pad = std::max(2.0, 0.1 * h);
  double longest = 0;
  if (!row_labels.empty()) {
    const Chart measure(1, 1);
    for (const auto& l : row_labels) longest = std::max(longest, measure.text_width(l, font_px));
  }
  const int label_w = row_labels.empty() ? 0 : int(std::ceil(longest + 2 * pad)) + gap;
  const int W = label_w + cols * w + (cols + 1) * gap, H = rows * h + (rows + 1) * gap;
  std::vector<uint8_t> canvas(size_t(W) * size_t(H) * 3, 255);
  for (int i = 0; i < n; ++i) {
    const int r = i / cols, c = i % cols;
    const int x0 = label_w + gap + c * (w + gap), y0 = gap + r * (h + gap);
    for (int y = 0; y < h; ++y)
      std::memcpy(canvas.data() + (size_t(y0 + y) * W + x0) * 3, px + (size_t(i) * h + y) * size_t(w) * 3,
                  size_t(w) * 3);
  }
  if (!row_labels.empty()) {
    Chart c(canvas.data(), W, H);
    for (int r = 0; r < rows; ++r)  // centred on the row: the baseline a third of the font below the middle
      c.text(gap + pad, gap + r * (h + gap) + h / 2.0 + 0.35 * font_px, row_labels[size_t(r)], font_px, {0, 0, 0});
    canvas = c.rgb();
  }
  write_png_rgb(path, canvas.data(), W, H);
}

}  // namespace cg::data
