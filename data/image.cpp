// Format sniffing, the dispatching decoder and whole-file reads for data/image.h.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "data/image.h"

namespace cg::data {

ImageKind sniff_image(const uint8_t* data, size_t n) {
  static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (n >= 8 && std::memcmp(data, png_sig, 8) == 0) return ImageKind::png;
  if (n >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return ImageKind::jpeg;
  return ImageKind::unknown;
}

const char* skip_kind_name(SkipKind k) {
  switch (k) {
    case SkipKind::unreadable: return "unreadable";
    case SkipKind::empty: return "empty file";
    case SkipKind::not_image: return "not a PNG or JPEG";
    case SkipKind::truncated: return "truncated";
    case SkipKind::corrupt: return "corrupt";
    case SkipKind::too_large: return "too large";
    case SkipKind::unlabeled: return "no label";
  }
  return "?";
}

namespace {
uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
uint32_t be16(const uint8_t* p) { return uint32_t(p[0]) << 8 | p[1]; }

// Walks the marker segments from SOI to the first SOFn (C0..CF but C4 DHT, C8 JPG, CC DAC).
bool probe_jpeg(const uint8_t* d, size_t n, int64_t& w, int64_t& h) {
  size_t i = 2;
  while (i + 4 <= n) {
    if (d[i] != 0xFF) return false;
    const uint8_t m = d[i + 1];
    if (m == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {  // no length
      i += 2;
      continue;
    }
    const size_t len = be16(d + i + 2);
    if (len < 2) return false;
    if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
      if (i + 9 > n) return false;
      h = be16(d + i + 5);
      w = be16(d + i + 7);
      return true;
    }
    if (m == 0xDA || m == 0xD9) return false;  // scan data or end before any frame header
    i += 2 + len;
  }
  return false;
}
}  // namespace

bool probe_image_size(const uint8_t* data, size_t n, int64_t& width, int64_t& height) {
  switch (sniff_image(data, n)) {
    case ImageKind::png:
      if (n < 24 || std::memcmp(data + 12, "IHDR", 4) != 0) return false;
      width = be32(data + 16);
      height = be32(data + 20);
      return true;
    case ImageKind::jpeg: return probe_jpeg(data, n, width, height);
    case ImageKind::unknown: break;
  }
  return false;
}

void check_pixel_limit(int64_t width, int64_t height, int64_t max_pixels) {
  if (width * height > max_pixels)
    throw DecodeError(SkipKind::too_large, detail::cat("too large: ", width, "x", height, " is ", width * height,
                                                       " pixels, over the limit of ", max_pixels));
}

Image decode_image(const uint8_t* data, size_t n, const DecodeOptions& opt) {
  if (n == 0) throw DecodeError(SkipKind::empty, "empty file");
  switch (sniff_image(data, n)) {
    case ImageKind::png: return decode_png(data, n, opt);
    case ImageKind::jpeg: return decode_jpeg(data, n, opt);
    case ImageKind::unknown: break;
  }
  throw DecodeError(SkipKind::not_image, "not a PNG or JPEG file (by its contents)");
}

namespace {
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};
[[noreturn]] void unreadable(const std::string& why) { throw DecodeError(SkipKind::unreadable, "unreadable: " + why); }
}  // namespace

std::vector<uint8_t> read_file_bytes(const std::string& path, size_t max_bytes) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) unreadable(std::strerror(errno));
  struct stat st;
  if (::fstat(f.fd, &st) != 0) unreadable(std::strerror(errno));
  if (!S_ISREG(st.st_mode)) unreadable("not a regular file");
  if (st.st_size == 0) throw DecodeError(SkipKind::empty, "empty file");
  if (size_t(st.st_size) > max_bytes)
    throw DecodeError(SkipKind::too_large, detail::cat("too large: the file is ", st.st_size, " bytes"));
  std::vector<uint8_t> bytes(size_t(st.st_size));
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t r = ::read(f.fd, bytes.data() + got, bytes.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) unreadable(std::strerror(errno));
    if (r == 0) break;  // shrank while we read it
    got += size_t(r);
  }
  bytes.resize(got);
  if (got == 0) throw DecodeError(SkipKind::empty, "empty file");
  return bytes;
}

}  // namespace cg::data
