// Reading .cgd datasets: memory-map, then validate every field against the layout
// the counts imply, every padding byte, the labels and (by default) every CRC, so
// a damaged or truncated file is refused at open with one sentence naming it.
#include "data/dataset.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "data/dataset_format.h"
#include "base/check.h"
#include "engine/io_util.h"

namespace cg::data {

using namespace cgd;

namespace {
// The state of an open dataset; Dataset::Impl derives from it so helpers here can take it.
struct Mapped {
  std::string path;
  DatasetInfo info;
  Layout lay;
  const uint8_t* base = nullptr;
  size_t bytes = 0;
  void* map = nullptr;          // mmap'ed file, or
  std::vector<uint8_t> memory;  // an in-memory copy
  Mapped() = default;
  Mapped(const Mapped&) = delete;
  Mapped& operator=(const Mapped&) = delete;
  ~Mapped() {
    if (map) ::munmap(map, bytes);
  }
};

uint32_t crc(const uint8_t* p, uint64_t n) {
  uLong c = crc32(0L, Z_NULL, 0);
  while (n > 0) {  // crc32 takes a uInt length
    const uInt chunk = uInt(n > (1u << 30) ? (1u << 30) : n);
    c = crc32(c, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return uint32_t(c);
}

bool all_zero(const uint8_t* p, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i)
    if (p[i]) return false;
  return true;
}

// The genre table from offset `off` (advanced past it); it must end where the header CRC starts.
std::vector<std::string> parse_genres(const uint8_t* p, uint64_t header_bytes, uint32_t genre_count,
                                      const std::string& f, size_t& off) {
  std::vector<std::string> genres;
  for (uint32_t g = 0; g < genre_count; ++g) {
    CG_USER_CHECK(off + 2 <= header_bytes - 4, "The dataset ", f, " is corrupt: the genre table overruns the header.");
    const size_t len = get<uint16_t>(p, off);
    off += 2;
    CG_USER_CHECK(len >= 1 && len <= kMaxGenreName && off + len <= header_bytes - 4, "The dataset ", f,
                  " is corrupt: genre name ", g, " has an impossible length.");
    genres.emplace_back(reinterpret_cast<const char*>(p + off), len);
    CG_USER_CHECK(genres.back().find('\0') == std::string::npos, "The dataset ", f, " is corrupt: genre ", g,
                  " contains a NUL byte.");
    off += len;
  }
  return genres;
}

// The fixed header and genre table; fills info and lay or throws.
void parse_header(Mapped& d) {
  const uint8_t* p = d.base;
  const size_t n = d.bytes;
  const std::string& f = d.path;
  CG_USER_CHECK(n > 0, "The dataset ", f, " is empty.");
  CG_USER_CHECK(n >= 8 && std::memcmp(p, kMagic, 8) == 0, "The file ", f,
                " is not a covergan dataset (.cgd): its first bytes are not the .cgd magic.");
  CG_USER_CHECK(n >= kFixedHeader + 4, "The dataset ", f, " is truncated: ", n, " bytes, shorter than its header.");
  const uint32_t version = get<uint32_t>(p, kOffVersion);
  CG_USER_CHECK(version == kVersion, "The dataset ", f, " has format version ", version,
                "; this build reads version ", kVersion, ".");
  const uint64_t header_bytes = get<uint32_t>(p, kOffHeaderBytes);
  CG_USER_CHECK(header_bytes >= kFixedHeader + 4 && header_bytes <= kMaxHeader, "The dataset ", f,
                " is corrupt: its header length ", header_bytes, " is impossible.");
  CG_USER_CHECK(header_bytes <= n, "The dataset ", f, " is truncated: ", n, " bytes, shorter than its ",
                header_bytes, "-byte header.");
  const uint32_t want = get<uint32_t>(p, header_bytes - 4);
  CG_USER_CHECK(crc(p, header_bytes - 4) == want, "The dataset ", f, " is corrupt: the header checksum does not match.");

  // The header is intact from here on; its values must still be sane.
  const uint64_t count = get<uint64_t>(p, kOffCount);
  const uint32_t size = get<uint32_t>(p, kOffSize), channels = get<uint32_t>(p, kOffChannels);
  const uint32_t genre_count = get<uint32_t>(p, kOffGenreCount), block = get<uint32_t>(p, kOffBlockImages);
  CG_USER_CHECK(size >= 1 && size <= uint32_t(kMaxSize) && channels == 3 && block >= 1 && genre_count <= kMaxGenres &&
                    all_zero(p + kOffReserved, kFixedHeader - kOffReserved),
                "The dataset ", f, " has an unsupported header (size ", size, ", channels ", channels, ", ", genre_count,
                " genres).");
  CG_USER_CHECK(count <= n / (uint64_t(size) * size * channels), "The dataset ", f, " is truncated: it declares ",
                count, " images of ", size, "x", size, " but holds only ", n, " bytes.");
  size_t off = kFixedHeader;
  std::vector<std::string> genres = parse_genres(p, header_bytes, genre_count, f, off);
  CG_USER_CHECK(off == header_bytes - 4, "The dataset ", f, " is corrupt: the genre table does not fill the header.");
  for (size_t g = 0; g < genres.size(); ++g) {
    CG_USER_CHECK(valid_utf8(genres[g]), "The dataset ", f, " names genre ", g,
                  " with bytes that are not UTF-8 text; rebuild it with `covergan prepare` after renaming that folder.");
    for (size_t h = 0; h < g; ++h)
      CG_USER_CHECK(genres[h] != genres[g], "The dataset ", f, " names the genre '", genres[g],
                    "' twice (genres ", h, " and ", g, "); rebuild it with `covergan prepare`.");
  }

  const Layout l = layout(off - kFixedHeader, count, size, channels, block);
  CG_USER_CHECK(get<uint64_t>(p, kOffPixels) == l.pixels_offset && get<uint64_t>(p, kOffLabels) == l.labels_offset &&
                    get<uint64_t>(p, kOffChecksums) == l.checksums_offset,
                "The dataset ", f, " is corrupt: its section offsets do not match its counts.");
  const uint64_t declared = get<uint64_t>(p, kOffFileSize);
  CG_USER_CHECK(declared == l.file_size, "The dataset ", f, " is corrupt: its recorded size does not match its counts.");
  CG_USER_CHECK(n >= l.file_size, "The dataset ", f, " is truncated: ", n, " bytes of ", l.file_size,
                " (", count, " images declared); it was not written completely.");
  CG_USER_CHECK(n == l.file_size, "The dataset ", f, " has ", n - l.file_size,
                " unexpected bytes after its end; it may be damaged.");
  d.info.count = int64_t(count);
  d.info.size = int(size);
  d.info.channels = int(channels);
  d.info.genres = std::move(genres);
  d.lay = l;
}

// Padding must be zero and every label in range; both are cheap, so always checked.
void check_body(const Mapped& d) {
  const uint8_t* p = d.base;
  const Layout& l = d.lay;
  const uint64_t pix_end = l.pixels_offset + l.pixel_bytes, lab_end = l.labels_offset + 4 * uint64_t(d.info.count);
  CG_USER_CHECK(all_zero(p + l.header_bytes, l.pixels_offset - l.header_bytes) &&
                    all_zero(p + pix_end, l.labels_offset - pix_end) &&
                    all_zero(p + lab_end, l.checksums_offset - lab_end),
                "The dataset ", d.path, " is corrupt: padding between its sections is not zero.");
  const int32_t lo = d.info.labeled() ? 0 : -1;
  const int32_t hi = d.info.labeled() ? int32_t(d.info.genres.size()) - 1 : -1;
  for (int64_t i = 0; i < d.info.count; ++i) {
    const int32_t v = get<int32_t>(p, l.labels_offset + 4 * uint64_t(i));
    CG_USER_CHECK(v >= lo && v <= hi, "The dataset ", d.path, " is corrupt: image ", i, " has label ", v,
                  d.info.labeled() ? detail::cat(" but there are ", d.info.genres.size(), " genres.")
                                   : std::string(" in an unlabeled set."));
  }
}

std::string check_crcs(const Mapped& d) {
  const uint8_t* p = d.base;
  const Layout& l = d.lay;
  const uint64_t block = get<uint32_t>(p, kOffBlockImages);
  const uint8_t* sums = p + l.checksums_offset;
  const int64_t nb = int64_t(l.blocks);
  int64_t bad = -1;
#pragma omp parallel for schedule(dynamic, 1) if (nb > 1)
  for (int64_t b = 0; b < nb; ++b) {
    const uint64_t first = uint64_t(b) * block;
    const uint64_t n = std::min<uint64_t>(block, uint64_t(d.info.count) - first);
    if (crc(p + l.pixels_offset + first * l.image_bytes, n * l.image_bytes) != get<uint32_t>(sums, 4 * uint64_t(b))) {
#pragma omp critical
      if (bad < 0 || b < bad) bad = b;
    }
  }
  const uint64_t table_crc = crc(sums, 4 * (l.blocks + 1));
  if (table_crc != get<uint32_t>(sums, 4 * (l.blocks + 1)))
    return detail::cat("The dataset ", d.path, " is corrupt: its checksum table is damaged.");
  if (bad >= 0) {
    const uint64_t first = uint64_t(bad) * block;
    const uint64_t last = std::min<uint64_t>(first + block, uint64_t(d.info.count)) - 1;
    return detail::cat("The dataset ", d.path, " is corrupt: the pixels of images ", first, "..", last,
                       " do not match their checksum.");
  }
  if (crc(p + l.labels_offset, 4 * uint64_t(d.info.count)) != get<uint32_t>(sums, 4 * l.blocks))
    return detail::cat("The dataset ", d.path, " is corrupt: the labels do not match their checksum.");
  return "";
}

void validate(Mapped& d, bool verify) {
  parse_header(d);
  check_body(d);
  if (verify) {
    const std::string problem = check_crcs(d);
    CG_USER_CHECK(problem.empty(), problem);
  }
}

}  // namespace

struct Dataset::Impl : Mapped {};

std::string Dataset::verify_checksums() const {
  CG_CHECK(p_, "verify_checksums on an empty Dataset");
  return check_crcs(*p_);
}

uint64_t Dataset::content_hash() const {
  CG_CHECK(p_, "content_hash on an empty Dataset");
  const Mapped& d = *p_;
  const uint32_t header = get<uint32_t>(d.base, d.lay.header_bytes - 4);
  const uint32_t table = get<uint32_t>(d.base, d.lay.checksums_offset + 4 * (d.lay.blocks + 1));
  return (uint64_t(header) << 32) | table;
}

Dataset Dataset::open(const std::string& path, bool verify) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  require_regular_file(path, "Cannot open the dataset");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  CG_USER_CHECK(fd >= 0, "Cannot open the dataset ", path, ": ", std::strerror(errno), ".");
  struct stat st;
  const bool stat_ok = ::fstat(fd, &st) == 0;
  const int err = errno;
  if (!stat_ok || !S_ISREG(st.st_mode)) ::close(fd);
  CG_USER_CHECK(stat_ok, "Cannot read the dataset ", path, ": ", std::strerror(err), ".");
  CG_USER_CHECK(S_ISREG(st.st_mode), "The dataset ", path, " is not a regular file.");
  impl->bytes = size_t(st.st_size);
  if (impl->bytes > 0) {
    void* m = ::mmap(nullptr, impl->bytes, PROT_READ, MAP_PRIVATE, fd, 0);
    const int merr = errno;
    ::close(fd);
    CG_USER_CHECK(m != MAP_FAILED, "Cannot map the dataset ", path, ": ", std::strerror(merr), ".");
    impl->map = m;
    impl->base = static_cast<const uint8_t*>(m);
  } else {
    ::close(fd);
  }
  validate(*impl, verify);
  Dataset ds;
  ds.p_ = std::move(impl);
  return ds;
}

Dataset Dataset::from_bytes(const uint8_t* data, size_t n, const std::string& name, bool verify) {
  auto impl = std::make_unique<Impl>();
  impl->path = name;
  impl->memory.assign(data, data + n);
  impl->base = impl->memory.data();
  impl->bytes = n;
  validate(*impl, verify);
  Dataset ds;
  ds.p_ = std::move(impl);
  return ds;
}

const DatasetInfo& Dataset::info() const {
  CG_CHECK(p_, "info() on an empty Dataset");
  return p_->info;
}

const uint8_t* Dataset::pixels(int64_t i) const {
  CG_CHECK(p_ && i >= 0 && i < p_->info.count, "Dataset::pixels: index ", i, " out of range");
  return p_->base + p_->lay.pixels_offset + uint64_t(i) * p_->lay.image_bytes;
}

int32_t Dataset::label(int64_t i) const {
  CG_CHECK(p_ && i >= 0 && i < p_->info.count, "Dataset::label: index ", i, " out of range");
  return get<int32_t>(p_->base, p_->lay.labels_offset + 4 * uint64_t(i));
}

const std::string& Dataset::path() const {
  CG_CHECK(p_, "path() on an empty Dataset");
  return p_->path;
}

int64_t Dataset::file_bytes() const { return p_ ? int64_t(p_->bytes) : 0; }

std::string Dataset::fingerprint() const {
  char hex[20];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(content_hash()));
  return hex;
}

std::vector<int64_t> Dataset::genre_counts() const {
  std::vector<int64_t> c(info().genres.size(), 0);
  for (int64_t i = 0; i < p_->info.count && !c.empty(); ++i) ++c[size_t(label(i))];
  return c;
}

Dataset::Dataset() = default;
Dataset::~Dataset() = default;
Dataset::Dataset(Dataset&&) noexcept = default;
Dataset& Dataset::operator=(Dataset&&) noexcept = default;

}  // namespace cg::data
