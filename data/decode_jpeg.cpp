// JPEG decoding with libjpeg-turbo: baseline, progressive, greyscale, CMYK/YCCK
// (Adobe-inverted, as Photoshop writes it) to 8-bit RGB, optionally scaled down
// in the DCT domain. libjpeg reports errors by longjmp, so its calls live in
// C-style functions whose frames hold no C++ objects.
// jpeglib.h uses size_t and FILE without including their headers: they come first.
#include <cstddef>
#include <cstdio>
// clang-format off
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include <algorithm>
#include <csetjmp>
#include <cstring>

#include "data/image.h"

namespace cg::data {
namespace {

constexpr int kMaxScans = 500;  // a progressive file with thousands of scans is an attack, not a cover

struct JpegCtx {
  jpeg_decompress_struct cinfo;
  jpeg_error_mgr err;
  jpeg_progress_mgr progress;
  jmp_buf jb;
  bool created = false;
  SkipKind kind = SkipKind::corrupt;
  char msg[JMSG_LENGTH_MAX + 64] = {0};
};

JpegCtx* ctx_of(j_common_ptr cinfo) { return reinterpret_cast<JpegCtx*>(cinfo->client_data); }

void jpeg_error_exit_fn(j_common_ptr cinfo) {
  JpegCtx* c = ctx_of(cinfo);
  char buf[JMSG_LENGTH_MAX];
  (*cinfo->err->format_message)(cinfo, buf);
  std::snprintf(c->msg, sizeof c->msg, "corrupt JPEG: %s", buf);
  c->kind = SkipKind::corrupt;
  std::longjmp(c->jb, 1);
}

// Warnings that mean the pixels are wrong (file cut short, damaged entropy data) become errors.
void jpeg_emit_message_fn(j_common_ptr cinfo, int level) {
  if (level != -1) return;  // trace messages
  JpegCtx* c = ctx_of(cinfo);
  const int code = cinfo->err->msg_code;
  if (code == JWRN_JPEG_EOF) {
    std::snprintf(c->msg, sizeof c->msg, "truncated JPEG: the file ends before the image data does");
    c->kind = SkipKind::truncated;
    std::longjmp(c->jb, 1);
  }
  if (code == JWRN_HUFF_BAD_CODE || code == JWRN_HIT_MARKER || code == JWRN_MUST_RESYNC) {
    char buf[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, buf);
    std::snprintf(c->msg, sizeof c->msg, "corrupt JPEG: %s", buf);
    c->kind = SkipKind::corrupt;
    std::longjmp(c->jb, 1);
  }
}

void jpeg_progress_fn(j_common_ptr cinfo) {
  if (!cinfo->is_decompressor) return;
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number > kMaxScans) {
    JpegCtx* c = ctx_of(cinfo);
    std::snprintf(c->msg, sizeof c->msg, "corrupt JPEG: more than %d scans", kMaxScans);
    c->kind = SkipKind::corrupt;
    std::longjmp(c->jb, 1);
  }
}

// Phase 1: header and output parameters. Only POD locals: it may be longjmp'ed out of.
bool jpeg_read_header_c(JpegCtx* c, const uint8_t* data, size_t n) {
  if (setjmp(c->jb)) return false;
  jpeg_create_decompress(&c->cinfo);
  c->created = true;
  c->cinfo.client_data = c;
  c->cinfo.progress = &c->progress;
  c->cinfo.mem->max_memory_to_use = 2048L << 20;
  jpeg_mem_src(&c->cinfo, data, static_cast<unsigned long>(n));
  jpeg_read_header(&c->cinfo, TRUE);
  return true;
}

bool jpeg_calc_dims_c(JpegCtx* c) {
  if (setjmp(c->jb)) return false;
  jpeg_calc_output_dimensions(&c->cinfo);
  return true;
}

// Phase 2: decode every scanline into out (output_height rows of row_bytes).
bool jpeg_read_pixels_c(JpegCtx* c, uint8_t* out, size_t row_bytes) {
  if (setjmp(c->jb)) return false;
  jpeg_start_decompress(&c->cinfo);
  while (c->cinfo.output_scanline < c->cinfo.output_height) {
    JSAMPROW rows[4];
    const JDIMENSION y = c->cinfo.output_scanline;
    int k = 0;
    for (; k < 4 && y + JDIMENSION(k) < c->cinfo.output_height; ++k) rows[k] = out + (y + k) * row_bytes;
    jpeg_read_scanlines(&c->cinfo, rows, JDIMENSION(k));
  }
  jpeg_finish_decompress(&c->cinfo);
  return true;
}

struct JpegGuard {
  JpegCtx* c;
  ~JpegGuard() {
    if (c->created) jpeg_destroy_decompress(&c->cinfo);
  }
};

[[noreturn]] void throw_jpeg(const JpegCtx& c) { throw DecodeError(c.kind, c.msg); }

// Largest power-of-two reduction that keeps the shorter side >= 2 * fit_size.
int dct_denominator(int w, int h, int fit_size) {
  if (fit_size <= 0) return 1;
  const int shorter = std::min(w, h);
  int d = 1;
  while (d < 8 && (shorter + 2 * d - 1) / (2 * d) >= 2 * fit_size) d *= 2;
  return d;
}

// CMYK with an Adobe marker is stored inverted (Photoshop's convention, also Pillow's);
// RGB = (255-C)(255-K)/255 on the non-inverted values.
void cmyk_to_rgb(uint8_t* rgb, const uint8_t* cmyk, size_t pixels, bool inverted) {
  for (size_t i = 0; i < pixels; ++i, cmyk += 4, rgb += 3) {
    unsigned c = cmyk[0], m = cmyk[1], y = cmyk[2], k = cmyk[3];
    if (!inverted) c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
    rgb[0] = uint8_t((c * k + 127) / 255);
    rgb[1] = uint8_t((m * k + 127) / 255);
    rgb[2] = uint8_t((y * k + 127) / 255);
  }
}

}  // namespace

Image decode_jpeg(const uint8_t* data, size_t n, const DecodeOptions& opt) {
  if (n < 3 || data[0] != 0xFF || data[1] != 0xD8 || data[2] != 0xFF)
    throw DecodeError(SkipKind::not_image, "not a JPEG file");
  int64_t pw = 0, ph = 0;
  if (probe_image_size(data, n, pw, ph)) check_pixel_limit(pw, ph, opt.max_pixels);  // before libjpeg allocates
  JpegCtx c;
  std::memset(&c.cinfo, 0, sizeof c.cinfo);
  c.cinfo.err = jpeg_std_error(&c.err);
  c.err.error_exit = jpeg_error_exit_fn;
  c.err.emit_message = jpeg_emit_message_fn;
  c.progress.progress_monitor = jpeg_progress_fn;
  c.cinfo.client_data = &c;  // error_exit may fire inside jpeg_create_decompress
  JpegGuard guard{&c};
  if (!jpeg_read_header_c(&c, data, n)) throw_jpeg(c);

  const int w = int(c.cinfo.image_width), h = int(c.cinfo.image_height);
  check_pixel_limit(w, h, opt.max_pixels);
  const J_COLOR_SPACE in = c.cinfo.jpeg_color_space;
  const bool cmyk = in == JCS_CMYK || in == JCS_YCCK;
  c.cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_EXT_RGB;  // libjpeg-turbo expands grey to RGB itself
  c.cinfo.scale_num = 1;
  c.cinfo.scale_denom = unsigned(dct_denominator(w, h, opt.fit_size));
  if (!jpeg_calc_dims_c(&c)) throw_jpeg(c);

  const size_t ow = c.cinfo.output_width, oh = c.cinfo.output_height;
  const size_t comps = size_t(c.cinfo.output_components);
  CG_CHECK(comps == (cmyk ? 4u : 3u), "libjpeg gave ", comps, " components");
  std::vector<uint8_t> buf(ow * oh * comps);
  if (!jpeg_read_pixels_c(&c, buf.data(), ow * comps)) throw_jpeg(c);

  Image img;
  img.width = int(ow);
  img.height = int(oh);
  if (!cmyk) {
    img.rgb = std::move(buf);
  } else {
    img.rgb.resize(ow * oh * 3);
    cmyk_to_rgb(img.rgb.data(), buf.data(), ow * oh, c.cinfo.saw_Adobe_marker);
  }
  return img;
}

}  // namespace cg::data
