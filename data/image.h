// Decoding covers: PNG through libpng and JPEG through libjpeg-turbo into 8-bit
// RGB, transparency composited over white. A failure throws DecodeError, whose
// kind sorts skipped files in the `prepare` summary and whose what() is the reason.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/check.h"

namespace cg::data {

// An 8-bit RGB image, (H,W,3) interleaved.
struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
};

enum class ImageKind { unknown, png, jpeg };
// From the leading bytes, never from the file name.
ImageKind sniff_image(const uint8_t* data, size_t n);

// Why a file was not used; the summary of `prepare` groups skipped files by these.
enum class SkipKind { unreadable, empty, not_image, truncated, corrupt, too_large, unlabeled };
const char* skip_kind_name(SkipKind k);  // "truncated", "too large", ...

class DecodeError : public Error {
 public:
  DecodeError(SkipKind kind, const std::string& msg) : Error(msg), kind_(kind) {}
  SkipKind kind() const { return kind_; }

 private:
  SkipKind kind_;
};

struct DecodeOptions {
  // Images with more pixels are refused from their header, before any pixel is decoded.
  int64_t max_pixels = 50'000'000;
  // When > 0, a JPEG may be decoded at 1/2, 1/4 or 1/8 scale in the DCT domain as long
  // as its shorter side stays >= 2 * fit_size (the later area downscale does the rest).
  int fit_size = 0;
};

Image decode_png(const uint8_t* data, size_t n, const DecodeOptions& opt = {});
Image decode_jpeg(const uint8_t* data, size_t n, const DecodeOptions& opt = {});
// Width and height read from the first header bytes alone (PNG IHDR, JPEG SOFn), without
// libpng or libjpeg; false when they are not there. Lets a huge image be refused even
// when the rest of its file is missing.
bool probe_image_size(const uint8_t* data, size_t n, int64_t& width, int64_t& height);
// DecodeError(too_large) when width*height is over max_pixels.
void check_pixel_limit(int64_t width, int64_t height, int64_t max_pixels);

// Sniffs the format and dispatches; anything else is DecodeError(not_image).
Image decode_image(const uint8_t* data, size_t n, const DecodeOptions& opt = {});

// Reads a whole file (refusing more than max_bytes); throws DecodeError(unreadable|empty).
std::vector<uint8_t> read_file_bytes(const std::string& path, size_t max_bytes = size_t(1) << 30);

// Shared by both decoders: alpha over white, (v*a + 255*(255-a)) / 255 rounded.
inline uint8_t over_white(uint8_t v, uint8_t a) {
  return static_cast<uint8_t>((unsigned(v) * a + 255u * (255u - a) + 127u) / 255u);
}

}  // namespace cg::data
