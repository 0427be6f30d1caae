// Writing .cgd datasets: pixels stream to a temporary PATH.tmp-* behind a header-sized hole
// while block CRCs accumulate; finish() appends labels and checksums, fills in the
// header, fsyncs and renames, so readers only ever see a complete file.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "data/dataset.h"
#include "data/dataset_format.h"
#include "base/check.h"
#include "engine/io_util.h"

namespace cg::data {

using namespace cgd;

std::vector<uint8_t> cgd::encode_header(uint64_t count, uint32_t size, uint32_t channels,
                                        const std::vector<std::string>& genres, const Layout& l) {
  std::vector<uint8_t> h(l.header_bytes, 0);
  std::memcpy(h.data(), kMagic, 8);
  put<uint32_t>(h.data(), kOffVersion, kVersion);
  put<uint32_t>(h.data(), kOffHeaderBytes, uint32_t(l.header_bytes));
  put<uint64_t>(h.data(), kOffCount, count);
  put<uint32_t>(h.data(), kOffSize, size);
  put<uint32_t>(h.data(), kOffChannels, channels);
  put<uint32_t>(h.data(), kOffGenreCount, uint32_t(genres.size()));
  put<uint32_t>(h.data(), kOffBlockImages, kBlockImages);
  put<uint64_t>(h.data(), kOffPixels, l.pixels_offset);
  put<uint64_t>(h.data(), kOffLabels, l.labels_offset);
  put<uint64_t>(h.data(), kOffChecksums, l.checksums_offset);
  put<uint64_t>(h.data(), kOffFileSize, l.file_size);
  size_t off = kFixedHeader;
  for (const auto& g : genres) {
    put<uint16_t>(h.data(), off, uint16_t(g.size()));
    std::memcpy(h.data() + off + 2, g.data(), g.size());
    off += 2 + g.size();
  }
  put<uint32_t>(h.data(), off, uint32_t(crc32(0L, h.data(), uInt(off))));
  return h;
}

struct DatasetWriter::Impl {
  std::string path, tmp;
  DatasetInfo info;
  int fd = -1;
  uint64_t header_reserved = 0;  // pixels_offset: fixed by the genre table alone
  std::vector<uint8_t> buf;      // pending pixel bytes
  uint64_t written = 0;          // pixel bytes on disk
  std::vector<int32_t> labels;
  std::vector<uint32_t> block_crcs;
  uLong cur_crc = 0;
  bool finished = false;

  size_t image_bytes() const { return size_t(info.size) * size_t(info.size) * size_t(info.channels); }

  void write_at(const uint8_t* p, size_t n, uint64_t off) {
    while (n > 0) {
      const bool full = injected_write_failure(tmp, n);  // test hook: a full disk
      const ssize_t r = full ? (errno = ENOSPC, -1) : ::pwrite(fd, p, n, off_t(off));
      if (r < 0 && errno == EINTR) continue;
      CG_USER_CHECK(r > 0, "Cannot write ", tmp, ": ", std::strerror(errno), ".");
      p += r;
      n -= size_t(r);
      off += uint64_t(r);
    }
  }
  void flush() {
    if (buf.empty()) return;
    write_at(buf.data(), buf.size(), header_reserved + written);
    written += buf.size();
    buf.clear();
  }
};

DatasetWriter::DatasetWriter(const std::string& path, const DatasetInfo& info) : p_(std::make_unique<Impl>()) {
  CG_USER_CHECK(info.size >= 1 && info.size <= kMaxSize, "Image size ", info.size, " is out of range.");
  CG_USER_CHECK(info.channels == 3, "Datasets hold RGB images (3 channels), got ", info.channels, ".");
  CG_USER_CHECK(info.genres.size() <= kMaxGenres, "Too many genres (", info.genres.size(), "), at most ", kMaxGenres,
                ".");
  for (const auto& g : info.genres)
    CG_USER_CHECK(!g.empty() && g.size() <= kMaxGenreName && g.find('\0') == std::string::npos, "The genre name '", g,
                  "' must be 1 to ", kMaxGenreName, " bytes.");
  for (size_t i = 0; i < info.genres.size(); ++i) {
    CG_USER_CHECK(valid_utf8(info.genres[i]), "The genre name '", info.genres[i],
                  "' is not UTF-8 text; rename that folder (or fix the manifest) so that it is.");
    const std::string why = genre_name_problem(info.genres[i]);
    CG_USER_CHECK(why.empty(), "The genre name '", info.genres[i], "' cannot be part of a file name (", why,
                  "); rename the genre.");
    for (size_t j = 0; j < i; ++j)
      CG_USER_CHECK(info.genres[i] != info.genres[j], "The genre '", info.genres[i], "' is named twice.");
  }
  p_->path = path;
  p_->tmp = temp_path(path);
  p_->info = info;
  p_->info.count = 0;
  p_->header_reserved = layout(genre_table_bytes(info.genres), 0, uint32_t(info.size), 3, kBlockImages).pixels_offset;
  p_->fd = ::open(p_->tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  CG_USER_CHECK(p_->fd >= 0, "Cannot write the dataset ", path, " (creating ", p_->tmp, "): ", std::strerror(errno),
                ".");
  p_->cur_crc = crc32(0L, Z_NULL, 0);
  p_->buf.reserve(size_t(4) << 20);
}

DatasetWriter::~DatasetWriter() {
  if (p_ && p_->fd >= 0) ::close(p_->fd);
  if (p_ && !p_->finished) ::unlink(p_->tmp.c_str());
}

void DatasetWriter::add(const uint8_t* pixels, int32_t label) {
  Impl& w = *p_;
  CG_CHECK(!w.finished, "DatasetWriter::add after finish");
  const int32_t hi = w.info.labeled() ? int32_t(w.info.genres.size()) - 1 : -1;
  CG_CHECK(label >= (w.info.labeled() ? 0 : -1) && label <= hi, "DatasetWriter::add: label ", label,
           " out of range for ", w.info.genres.size(), " genres");
  const size_t n = w.image_bytes();
  w.buf.insert(w.buf.end(), pixels, pixels + n);
  w.cur_crc = crc32(w.cur_crc, pixels, uInt(n));
  w.labels.push_back(label);
  if (w.labels.size() % kBlockImages == 0) {
    w.block_crcs.push_back(uint32_t(w.cur_crc));
    w.cur_crc = crc32(0L, Z_NULL, 0);
  }
  if (w.buf.size() >= (size_t(4) << 20)) w.flush();
}

int64_t DatasetWriter::count() const { return int64_t(p_->labels.size()); }
const std::string& DatasetWriter::temp_file() const { return p_->tmp; }

std::vector<std::string> DatasetWriter::drop_empty_genres() {
  Impl& w = *p_;
  CG_CHECK(!w.finished, "DatasetWriter::drop_empty_genres after finish");
  std::vector<int64_t> count(w.info.genres.size(), 0);
  for (int32_t l : w.labels)
    if (l >= 0) ++count[size_t(l)];
  std::vector<std::string> kept, dropped;
  std::vector<int32_t> renumber(count.size(), -1);
  for (size_t g = 0; g < count.size(); ++g) {
    if (count[g] == 0) {
      dropped.push_back(w.info.genres[g]);
      continue;
    }
    renumber[g] = int32_t(kept.size());
    kept.push_back(w.info.genres[g]);
  }
  if (dropped.empty()) return dropped;
  // The pixels already lie at header_reserved; a shorter genre table must not move them.
  CG_USER_CHECK(layout(genre_table_bytes(kept), 0, uint32_t(w.info.size), 3, kBlockImages).pixels_offset ==
                    w.header_reserved,
                "The genres ", dropped.front(), (dropped.size() > 1 ? " and others" : ""),
                " have no usable images; remove their folders (or manifest rows) and prepare again.");
  for (int32_t& l : w.labels)
    if (l >= 0) l = renumber[size_t(l)];
  w.info.genres = kept;
  return dropped;
}

void DatasetWriter::read_back(int64_t i, uint8_t* out) {
  Impl& w = *p_;
  CG_CHECK(i >= 0 && i < count(), "DatasetWriter::read_back: index ", i, " of ", count());
  const size_t n = w.image_bytes();
  const uint64_t pos = uint64_t(i) * n;
  if (pos >= w.written) {  // still in the buffer
    std::memcpy(out, w.buf.data() + (pos - w.written), n);
    return;
  }
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(w.fd, out + got, n - got, off_t(w.header_reserved + pos + got));
    if (r < 0 && errno == EINTR) continue;
    CG_USER_CHECK(r > 0, "Cannot read back ", w.tmp, ": ", r < 0 ? std::strerror(errno) : "short read", ".");
    got += size_t(r);
  }
}

void DatasetWriter::finish() {
  Impl& w = *p_;
  CG_CHECK(!w.finished, "DatasetWriter::finish called twice");
  w.flush();
  const uint64_t count = w.labels.size();
  if (count % kBlockImages != 0) w.block_crcs.push_back(uint32_t(w.cur_crc));
  const Layout l = layout(genre_table_bytes(w.info.genres), count, uint32_t(w.info.size), 3, kBlockImages);
  CG_CHECK(l.pixels_offset == w.header_reserved && l.blocks == w.block_crcs.size(), "DatasetWriter: layout drifted");

  // Labels (with the zero padding before them), then the checksum table.
  const uint64_t tail_at = l.pixels_offset + l.pixel_bytes;
  std::vector<uint8_t> tail(l.file_size - tail_at, 0);
  auto at = [&](uint64_t file_off) { return tail.data() + (file_off - tail_at); };
  if (count) std::memcpy(at(l.labels_offset), w.labels.data(), 4 * count);
  for (size_t b = 0; b < w.block_crcs.size(); ++b) put<uint32_t>(at(l.checksums_offset), 4 * b, w.block_crcs[b]);
  const uint32_t label_crc = uint32_t(crc32(0L, at(l.labels_offset), uInt(4 * count)));
  put<uint32_t>(at(l.checksums_offset), 4 * l.blocks, label_crc);
  put<uint32_t>(at(l.checksums_offset), 4 * (l.blocks + 1),
                uint32_t(crc32(0L, at(l.checksums_offset), uInt(4 * (l.blocks + 1)))));
  w.write_at(tail.data(), tail.size(), tail_at);

  std::vector<uint8_t> header = encode_header(count, uint32_t(w.info.size), 3, w.info.genres, l);
  header.resize(l.pixels_offset, 0);  // the zero padding up to the pixels
  w.write_at(header.data(), header.size(), 0);
  CG_USER_CHECK(::ftruncate(w.fd, off_t(l.file_size)) == 0 && ::fsync(w.fd) == 0, "Cannot finish ", w.tmp, ": ",
                std::strerror(errno), ".");
  ::close(w.fd);
  w.fd = -1;
  CG_USER_CHECK(std::rename(w.tmp.c_str(), w.path.c_str()) == 0, "Cannot rename ", w.tmp, " to ", w.path, ": ",
                std::strerror(errno), ".");
  w.finished = true;
  w.info.count = int64_t(count);
}

std::string genre_name_problem(const std::string& g) {
  if (g == "." || g == "..") return "it is \"" + g + "\", a folder's name";
  for (unsigned char c : g) {
    if (c == '/' || c == '\\') return std::string("it holds a '") + char(c) + "'";
    if (c < 0x20 || c == 0x7F) return "it holds a control character";
  }
  return "";
}

std::string genre_file_part(const std::string& g) {
  std::string out;
  for (unsigned char c : g) out += (c == '/' || c == '\\' || c < 0x20 || c == 0x7F) ? '_' : char(c);
  if (out.size() > 100) {
    size_t cut = 100;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 character
    out.resize(cut);
  }
  return out.empty() || out == "." || out == ".." ? "genre" : out;
}

void write_dataset(const std::string& path, const DatasetInfo& info, const uint8_t* pixels,
                   const std::vector<int32_t>& labels) {
  CG_CHECK(int64_t(labels.size()) == info.count, "write_dataset: ", labels.size(), " labels for ", info.count,
           " images");
  DatasetWriter w(path, info);
  const size_t n = size_t(info.size) * size_t(info.size) * size_t(info.channels);
  for (int64_t i = 0; i < info.count; ++i) w.add(pixels + size_t(i) * n, labels[size_t(i)]);
  w.finish();
}

}  // namespace cg::data
