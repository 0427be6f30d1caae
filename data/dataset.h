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
  static Dataset open(const std::string& path);
  const DatasetInfo& info() const;
  // Pixels of image i, (H,W,C) interleaved RGB uint8.
  const uint8_t* pixels(int64_t i) const;
  // Genre index of image i, or -1 in an unlabeled set.
  int32_t label(int64_t i) const;
  const std::string& path() const;

  Dataset();
  ~Dataset();
  Dataset(Dataset&&) noexcept;
  Dataset& operator=(Dataset&&) noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> p_;
};

}  // namespace cg::data
