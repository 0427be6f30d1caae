// The packed dataset file (.cgd): a header (magic, version, count, image size,
// channels, genre names), uint8 pixels, int32 labels and CRC32 checksums,
// memory-mapped for reading. docs/formats.md describes it byte by byte.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cg::data {

struct DatasetInfo {
  int64_t count = 0;
  int size = 64;                     // images are size x size
  int channels = 3;
  std::vector<std::string> genres;   // empty for an unlabeled set
  bool labeled() const { return !genres.empty(); }
};

class Dataset {
 public:
  // Opens and validates (header, sizes, checksums); throws cg::Error naming the file.
  // verify_checksums = false still checks the header, sizes and labels, not the pixel CRCs.
  static Dataset open(const std::string& path, bool verify_checksums = true);
  // The same over a copy of bytes in memory (fuzzing, tests); name appears in messages.
  static Dataset from_bytes(const uint8_t* data, size_t n, const std::string& name = "<memory>",
                            bool verify_checksums = true);
  const DatasetInfo& info() const;
  // Pixels of image i, (H,W,C) interleaved RGB uint8.
  const uint8_t* pixels(int64_t i) const;
  // Genre index of image i, or -1 in an unlabeled set.
  int32_t label(int64_t i) const;
  const std::string& path() const;
  // Recomputes every checksum: "" when all match, else one sentence naming the damaged part.
  std::string verify_checksums() const;
  int64_t file_bytes() const;
  // The header's CRC and the CRC of the checksum table (which covers every pixel block and
  // the labels), read, not recomputed: two files with the same hash hold the same images,
  // labels and genres. Ranks of a distributed run compare it at start-up.
  uint64_t content_hash() const;
  // content_hash() as 16 hex digits: a run records it with file_bytes() so eval and
  // --resume can tell whether its training file changed.
  std::string fingerprint() const;
  // Images per genre (empty for an unlabeled set).
  std::vector<int64_t> genre_counts() const;

  Dataset();
  ~Dataset();
  Dataset(Dataset&&) noexcept;
  Dataset& operator=(Dataset&&) noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> p_;
};

// Streams images into PATH.tmp; finish() appends labels and checksums, writes the
// header, flushes and renames to PATH, so a crash never leaves a torn dataset.
class DatasetWriter {
 public:
  // info.count is ignored: images are counted as they are added.
  DatasetWriter(const std::string& path, const DatasetInfo& info);
  ~DatasetWriter();  // removes the temporary file unless finish() ran
  DatasetWriter(const DatasetWriter&) = delete;
  DatasetWriter& operator=(const DatasetWriter&) = delete;

  // pixels (size,size,channels); label in [0, genres) for a labeled set, -1 otherwise.
  void add(const uint8_t* pixels, int32_t label);
  int64_t count() const;
  const std::string& temp_file() const;  // where the bytes go until finish() renames them
  // Leaves out the genres no image was added to (prepare: a genre folder whose files were
  // all broken or duplicates), renumbering the others in order; returns their names.
  std::vector<std::string> drop_empty_genres();
  // Copies back the pixels of image i (already added): the deduper confirms exact matches.
  void read_back(int64_t i, uint8_t* out);
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> p_;
};

// Genre names become parts of file names (`generate --separate`: GENRE_0001.png), so a
// new dataset refuses those that could not be one: "" when g is fine, else why not
// (a '/' or a backslash, a control character, "." or "..").
std::string genre_name_problem(const std::string& g);
// g made safe as the start of a file name in any folder: '/', backslashes and control characters
// become '_', and at most 100 bytes are kept (an older dataset may hold any name).
std::string genre_file_part(const std::string& g);

// Whole dataset in one call; pixels holds count*size*size*channels bytes.
void write_dataset(const std::string& path, const DatasetInfo& info, const uint8_t* pixels,
                   const std::vector<int32_t>& labels);

}  // namespace cg::data
